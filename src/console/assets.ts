/**
 * @module
 * The console's two static files, served by the Worker under `/_keygate/console/assets/` (the CSP
 * allows scripts and styles from 'self' only, nothing inline). The script is progressive: every page
 * renders and every form works without it, except sign-in, sign-up, the copy button and the live tail.
 */

export const CONSOLE_CSS = `
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #17171c; --muted: #5c5c6a; --card: #fff; --line: #dcdce3;
  --accent: #3451b2; --allowed: #2f855a; --denied: #c53030; --would: #b7791f; --focus: #2563eb; }
@media (prefers-color-scheme: dark) { :root { --bg: #121216; --fg: #ececf1; --muted: #a0a0ae; --card: #1c1c22;
  --line: #32323c; --accent: #8ea4ff; --allowed: #68d391; --denied: #fc8181; --would: #f6c35b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--card); padding: 6px; z-index: 9; }
header.top { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; margin-right: 12px; text-decoration: none; color: var(--fg); }
header.top nav { display: flex; gap: 14px; flex-wrap: wrap; }
header.top nav a { text-decoration: none; padding: 4px 2px; } header.top nav a[aria-current] { font-weight: 700; border-bottom: 2px solid var(--accent); }
header.top .spacer { flex: 1; } header.top form { margin: 0; align-items: center; }
main { max-width: 1240px; margin: 0 auto; padding: 18px 20px 60px; }
h1 { font-size: 1.5rem; margin: 4px 0 16px; } h2 { font-size: 1.1rem; margin: 0 0 10px; }
.grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; } .grid + section.card, main > .card + .card { margin-top: 16px; }
.muted { color: var(--muted); } .small { font-size: .85rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: .78rem; border: 1px solid currentColor; margin: 1px 2px 1px 0; white-space: nowrap; }
.s-active, .o-allowed { color: var(--allowed); } .s-revoked, .s-expired, .o-denied { color: var(--denied); }
.s-expiring, .s-grace, .s-report, .o-would_deny { color: var(--would); } .s-stale { color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin-bottom: 14px; }
label { display: flex; flex-direction: column; gap: 3px; font-size: .85rem; color: var(--muted); }
label.inline { flex-direction: row; align-items: center; gap: 6px; color: var(--fg); }
input, select, textarea, button { font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
textarea { width: 100%; min-height: 70px; font-family: ui-monospace, monospace; font-size: .85rem; }
button, .button { cursor: pointer; background: var(--accent); color: #fff; border: 1px solid var(--accent); text-decoration: none; display: inline-block; padding: 6px 12px; border-radius: 6px; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--denied); border-color: var(--denied); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.stack > * + * { margin-top: 10px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.scopes { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 4px 12px; max-height: 320px; overflow: auto; }
.notice { padding: 10px 14px; border-radius: 8px; border: 1px solid var(--line); background: var(--card); margin-bottom: 14px; }
.notice.warn { border-color: var(--would); } .notice.error { border-color: var(--denied); } .notice.ok { border-color: var(--allowed); }
.secret { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.secret output { font-family: ui-monospace, monospace; padding: 8px; border: 1px dashed var(--would); border-radius: 6px; word-break: break-all; user-select: all; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; } dl.settings dt { color: var(--muted); } dl.settings dd { margin: 0; min-width: 0; word-break: break-word; }
svg.chart { width: 100%; height: auto; display: block; } svg .allowed { stroke: var(--allowed); } svg .denied { stroke: var(--denied); } svg .would_deny { stroke: var(--would); }
svg .axis { stroke: var(--line); } svg text { fill: var(--muted); font-size: 11px; }
svg.spark { width: 120px; height: 28px; vertical-align: middle; }
figure { margin: 0; } .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .85rem; } .legend span { white-space: nowrap; } .legend span::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 5px; vertical-align: middle; background: currentColor; }
details.row summary { cursor: pointer; } details.row pre { white-space: pre-wrap; word-break: break-all; font-size: .8rem; }
.changes td { font-family: ui-monospace, monospace; font-size: .8rem; }
.pager { margin-top: 12px; display: flex; gap: 10px; }
.signin { max-width: 380px; margin: 10vh auto; }
.signin form { display: flex; flex-direction: column; gap: 12px; }
@media (max-width: 640px) { main { padding: 12px 10px 40px; } header.top { padding: 8px 10px; } .grid { grid-template-columns: 1fr; }
  dl.settings { grid-template-columns: 1fr; } dl.settings dd { margin-bottom: 6px; } }
`;

export const CONSOLE_JS = `
"use strict";
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }
  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }

  // Sign-in and sign-up post JSON to better-auth, then go back to the form's (console-only) next page.
  function credentialForm(form, path, labels, body) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = $("[data-status]", form);
      status.textContent = labels[0] + "…";
      fetch("/_keygate/auth" + path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body())
      }).then(function (res) {
        if (res.ok) { location.assign(form.getAttribute("data-next") || "/_keygate/console"); return; }
        return res.json().catch(function () { return {}; }).then(function (body) {
          status.textContent = labels[1] + " failed: " + (body.message || res.status);
        });
      }, function () { status.textContent = labels[1] + " failed: network error"; });
    });
  }
  var signIn = $("form[data-sign-in]");
  if (signIn) credentialForm(signIn, "/sign-in/email", ["Signing in", "Sign-in"], function () {
    return { email: signIn.email.value, password: signIn.password.value };
  });
  var signUp = $("form[data-sign-up]");
  if (signUp) credentialForm(signUp, "/sign-up/email", ["Signing up", "Sign-up"], function () {
    var body = { name: signUp.elements.name.value, email: signUp.email.value, password: signUp.password.value };
    if (signUp.hasAttribute("data-invitation")) body.invitationToken = signUp.getAttribute("data-invitation");
    return body;
  });

  each("button[data-sign-out]", function (button) {
    button.addEventListener("click", function () {
      fetch("/_keygate/auth/sign-out", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: "{}" })
        .then(function () { location.assign("/_keygate/console/sign-in"); });
    });
  });

  each("button[data-copy]", function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      var note = document.getElementById(button.getAttribute("data-copy") + "-note");
      navigator.clipboard.writeText(target.textContent).then(function () { note.textContent = "Copied to the clipboard."; },
        function () { note.textContent = "Copy failed: select it and copy it by hand."; });
    });
  });

  each("select[data-autosubmit]", function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  var tail = $("button[data-tail]");
  if (tail) {
    var body = $("#audit-rows");
    var seen = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-id]"), function (row) { seen[row.getAttribute("data-id")] = true; });
    var newest = tail.getAttribute("data-since");
    var timer = null;
    var status = $("#tail-status");
    function cell(row, text, cls) { var td = document.createElement("td"); td.textContent = text == null ? "" : String(text); if (cls) td.className = cls; row.appendChild(td); return td; }
    function addRow(event) {
      var row = document.createElement("tr");
      row.setAttribute("data-id", event.id);
      cell(row, event.ts.replace("T", " ").replace("Z", ""), "mono");
      var outcome = cell(row, "");
      var badge = document.createElement("span"); badge.className = "badge o-" + event.outcome; badge.textContent = event.outcome; outcome.appendChild(badge);
      cell(row, event.status, "num"); cell(row, event.method); cell(row, event.path, "mono"); cell(row, event.key_prefix, "mono");
      cell(row, event.caller); cell(row, event.reason);
      var detail = cell(row, ""); var details = document.createElement("details"); details.className = "row";
      var summary = document.createElement("summary"); summary.textContent = "detail"; var pre = document.createElement("pre");
      pre.textContent = JSON.stringify(event, null, 2); details.appendChild(summary); details.appendChild(pre); detail.appendChild(details);
      body.insertBefore(row, body.firstChild);
    }
    function poll() {
      var url = tail.getAttribute("data-api") + (newest ? "&since=" + encodeURIComponent(newest) : "");
      fetch(url, { credentials: "same-origin" }).then(function (res) { return res.json(); }).then(function (page) {
        if (!page.ok) { status.textContent = "Tail stopped: " + page.message; stop(); return; }
        var fresh = page.data.filter(function (event) { return !seen[event.id]; }).reverse();
        fresh.forEach(function (event) { seen[event.id] = true; addRow(event); if (!newest || event.ts > newest) newest = event.ts; });
        status.textContent = "Following new events" + (fresh.length ? " (" + fresh.length + " new)" : "") + ".";
      }, function () { status.textContent = "Tail: network error, retrying."; });
    }
    function stop() { clearInterval(timer); timer = null; tail.setAttribute("aria-pressed", "false"); tail.textContent = "Start live tail"; }
    tail.hidden = false;
    tail.addEventListener("click", function () {
      if (timer) { stop(); status.textContent = "Live tail stopped."; return; }
      tail.setAttribute("aria-pressed", "true"); tail.textContent = "Stop live tail"; poll(); timer = setInterval(poll, 2000);
    });
  }
})();
`;
