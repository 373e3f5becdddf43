/** @jsxImportSource hono/jsx */
/**
 * @module
 * Charts as inline SVG rendered on the server: no chart library, no client script, nothing for the
 * CSP to allow. Colours come from the stylesheet's classes (presentation, not inline styles).
 */

export interface SeriesPoint {
  t: string;
  key_id?: string | null;
  allowed: number;
  denied: number;
  would_deny: number;
}

export type Interval = "minute" | "hour" | "day";

const STEP_MS: Record<Interval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const OUTCOME_KEYS = ["allowed", "denied", "would_deny"] as const;

/** One value per bucket from the first bucket at or after `since` to now, zeros where nothing happened. */
export function fillBuckets(points: readonly SeriesPoint[], interval: Interval, since: number, now: number): SeriesPoint[] {
  const step = STEP_MS[interval];
  const byTime = new Map(points.map((point) => [Date.parse(point.t), point]));
  const filled: SeriesPoint[] = [];
  for (let t = Math.floor(since / step) * step; t <= now; t += step) {
    filled.push(byTime.get(t) ?? { t: new Date(t).toISOString(), allowed: 0, denied: 0, would_deny: 0 });
  }
  return filled;
}

/** Requests, denials and would-deny over time, with a y-axis maximum and a few time labels. */
export function TrafficChart(props: { points: readonly SeriesPoint[]; interval: Interval; label: string }) {
  const width = 960;
  const height = 220;
  const pad = { left: 44, right: 12, top: 12, bottom: 26 };
  const max = Math.max(1, ...props.points.flatMap((p) => OUTCOME_KEYS.map((k) => p[k])));
  const n = Math.max(1, props.points.length - 1);
  const x = (i: number) => pad.left + (i / n) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const ticks = props.points.length > 1 ? [0, Math.floor(n / 2), n] : [0];
  const totals = OUTCOME_KEYS.map((k) => props.points.reduce((sum, p) => sum + p[k], 0));
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.label}: ${totals[0]} allowed, ${totals[1]} denied, ${totals[2]} would deny`}>
        <line class="axis" x1={pad.left} y1={y(0)} x2={width - pad.right} y2={y(0)} />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={y(0)} />
        <text x={pad.left - 6} y={pad.top + 8} text-anchor="end">{String(max)}</text>
        <text x={pad.left - 6} y={y(0)} text-anchor="end">0</text>
        {ticks.map((i) => (
          <text x={x(i)} y={height - 6} text-anchor={i === 0 ? "start" : i === n ? "end" : "middle"}>
            {timeLabel(props.points[i]?.t ?? "", props.interval)}
          </text>
        ))}
        {OUTCOME_KEYS.map((k) => (
          <polyline class={k} fill="none" stroke-width="2" points={props.points.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" ")} />
        ))}
      </svg>
      <figcaption class="legend">
        <span class="o-allowed">{`allowed ${totals[0]}`}</span>
        <span class="o-denied">{`denied ${totals[1]}`}</span>
        <span class="o-would_deny">{`would deny ${totals[2]}`}</span>
      </figcaption>
    </figure>
  );
}

/** A key's last 24 hours: allowed and denied per hour, in a small line pair. */
export function Sparkline(props: { points: readonly SeriesPoint[] }) {
  const width = 120;
  const height = 28;
  const max = Math.max(1, ...props.points.flatMap((p) => [p.allowed + p.would_deny, p.denied]));
  const n = Math.max(1, props.points.length - 1);
  const line = (value: (p: SeriesPoint) => number) =>
    props.points.map((p, i) => `${((i / n) * width).toFixed(1)},${(height - 2 - (value(p) / max) * (height - 4)).toFixed(1)}`).join(" ");
  return (
    <svg class="spark" viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <polyline class="allowed" fill="none" stroke-width="1.5" points={line((p) => p.allowed + p.would_deny)} />
      <polyline class="denied" fill="none" stroke-width="1.5" points={line((p) => p.denied)} />
    </svg>
  );
}

function timeLabel(iso: string, interval: Interval): string {
  if (iso === "") return "";
  return interval === "day" ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}
