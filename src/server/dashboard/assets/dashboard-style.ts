/**
 * The dashboard's one stylesheet, served from /dashboard/assets/ (the CSP
 * allows styles from the server only: no inline style anywhere). Kept here as
 * a module so tsc ships it in dist/ with everything else. System fonts only:
 * nothing is fetched from anywhere else.
 */
export const DASHBOARD_STYLE = `
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --paper: #ffffff; --wash: #f6f8fa;
  --accent: #0b5cad; --accent-ink: #ffffff; --danger: #b3261e; --ok: #1a7f37; --warn: #9a6700;
  --focus: #ffbf47;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5; color: var(--ink); background: var(--wash);
}
* { box-sizing: border-box; }
body { margin: 0; min-width: 320px; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, pre, kbd, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--paper); padding: 0.5rem 1rem; z-index: 10; }
.skip:focus { left: 0.5rem; top: 0.5rem; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding: 0.75rem 1rem; background: #0d1b2a; color: #fff; }
.brand { font-weight: 700; font-size: 1.15rem; letter-spacing: 0.02em; color: #fff; text-decoration: none; }
.top nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem; list-style: none; margin: 0; padding: 0; }
.top nav a { display: block; color: #dbe7f3; text-decoration: none; padding: 0.35rem 0.7rem; border-radius: 6px; }
.top nav a:hover { background: #1d3557; color: #fff; }
.top nav a[aria-current="page"] { background: #e8f1fb; color: #0d1b2a; font-weight: 600; }
.top form { margin-left: auto; }
.top button { background: transparent; color: #fff; border: 1px solid #8aa4c0; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
h3 { font-size: 1.1rem; margin: 0 0 0.5rem; overflow-wrap: anywhere; }
h4 { font-size: 0.95rem; margin: 1rem 0 0.35rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
.cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); }
.cards > .card { margin: 0; min-width: 0; }
.lede { color: var(--muted); margin-top: -0.5rem; }
.desc { margin: 0 0 0.5rem; overflow-wrap: anywhere; white-space: pre-wrap; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.field { margin: 0 0 0.9rem; }
.field > label, fieldset legend { display: block; font-weight: 600; margin-bottom: 0.2rem; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.15rem 0 0; }
.error { color: var(--danger); font-weight: 600; margin: 0.25rem 0 0; overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--ok); background: #eef8f0; padding: 0.6rem 0.9rem; margin: 0 0 1rem; border-radius: 4px; overflow-wrap: anywhere; }
.notice.bad { border-color: var(--danger); background: #fdf0ef; }
input[type="text"], input[type="password"], input[type="number"], input:not([type]), select {
  width: 100%; max-width: 32rem; font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--ink);
}
input[aria-invalid="true"] { border-color: var(--danger); border-width: 2px; }
input[readonly] { background: var(--wash); }
fieldset { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; margin: 0 0 0.9rem; min-width: 0; }
fieldset:disabled { opacity: 0.55; }
.choice { display: flex; align-items: center; gap: 0.4rem; margin: 0.2rem 0; }
.choice input { width: 1.1rem; height: 1.1rem; margin: 0; }
button { font: inherit; cursor: pointer; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); min-height: 2.5rem; }
button.secondary { background: var(--paper); color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
button:disabled { opacity: 0.5; cursor: not-allowed; }
.row { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; background: var(--paper); }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.snippet { position: relative; margin: 0.25rem 0 0.5rem; }
.snippet pre { background: #0d1b2a; color: #e6edf3; padding: 0.7rem 0.8rem; border-radius: 6px; overflow-x: auto; margin: 0; white-space: pre; }
.snippet button { margin-top: 0.35rem; }
details { margin-top: 0.75rem; }
details > summary { cursor: pointer; color: var(--accent); padding: 0.25rem 0; }
details.danger-zone > summary { color: var(--danger); }
.warning { border-left: 4px solid var(--danger); background: #fdf0ef; padding: 0.5rem 0.8rem; border-radius: 4px; }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 999px; font-size: 0.8rem; border: 1px solid var(--line); white-space: nowrap; }
.badge.ok { color: var(--ok); border-color: var(--ok); }
.badge.bad { color: var(--danger); border-color: var(--danger); }
.badge.warn { color: var(--warn); border-color: var(--warn); }
.charts { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 20rem), 1fr)); margin-bottom: 1rem; }
.chart-card { margin: 0; }
.chart-card .now { font-size: 1.4rem; font-weight: 700; margin: 0; }
.chart { display: block; width: 100%; height: 90px; background: var(--wash); border-radius: 4px; }
.chart .bar { fill: var(--accent); }
.chart .bar.err { fill: var(--danger); }
.chart .bar.lat { fill: var(--warn); }
.chart .base { stroke: var(--line); stroke-width: 1; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.8rem; }
.filters { display: grid; gap: 0 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 13rem), 1fr)); align-items: end; }
.signin { max-width: 30rem; margin: 3rem auto; }
footer { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: var(--muted); font-size: 0.85rem; }
@media (max-width: 40rem) {
  main { padding: 0.75rem; }
  h1 { font-size: 1.35rem; }
  .top form { margin-left: 0; }
  .facts { grid-template-columns: 1fr; }
  .facts dd { margin-bottom: 0.35rem; }
}
`;
