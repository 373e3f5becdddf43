// The device authorization grant (RFC 8628) from the client's side: ask for a code, then poll the
// token endpoint at the server's pace until the user approves, denies, or the code expires.
import { ApiError, oauthForm, UsageError } from "./http.mjs";

export const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** POST /oauth/device/code. */
export async function requestDeviceCode({ fetch, url, clientId, scope, orgId, projectId }) {
  const { status, body } = await oauthForm(fetch, url, "/device/code", {
    client_id: clientId,
    scope,
    org_id: orgId,
    project_id: projectId,
  });
  if (status !== 200 || !body?.device_code) {
    throw new ApiError(status, body?.error ?? body?.code ?? `HTTP_${status}`, body?.error_description ?? body?.message ?? "could not start the device flow", body?.details);
  }
  return body;
}

/**
 * Polls until tokens arrive. Waits `interval` seconds before each poll; `slow_down` adds 5 s
 * (RFC 8628 §3.5); `access_denied` and `expired_token` end with a UsageError, as does running past
 * `expires_in`. `sleep` and `now` are injectable for tests; `onPoll(error)` sees each pending answer.
 * @param {{ fetch: typeof fetch, url: string, clientId: string, device: any, sleep?: (ms: number) => Promise<unknown>,
 *   now?: () => number, onPoll?: (error: unknown) => void }} options
 */
export async function pollForToken({ fetch, url, clientId, device, sleep: wait = sleep, now = Date.now, onPoll }) {
  let interval = Math.max(1, Number(device.interval) || 5);
  const deadline = now() + (Number(device.expires_in) || 600) * 1000;
  for (;;) {
    await wait(interval * 1000);
    if (now() > deadline) throw new UsageError("the code expired before it was approved; run keygate login again");
    const { status, body } = await oauthForm(fetch, url, "/token", {
      grant_type: DEVICE_GRANT,
      device_code: device.device_code,
      client_id: clientId,
    });
    if (status === 200 && body?.access_token) return body;
    const error = body?.error;
    onPoll?.(error);
    switch (error) {
      case "authorization_pending":
        continue;
      case "slow_down":
        interval += 5;
        continue;
      case "access_denied":
        throw new UsageError("the request was denied in the browser; nothing was saved");
      case "expired_token":
        throw new UsageError("the code expired before it was approved; run keygate login again");
      default:
        throw new ApiError(status, error ?? body?.code ?? `HTTP_${status}`, body?.error_description ?? body?.message ?? "unexpected answer from the token endpoint", body?.details);
    }
  }
}
