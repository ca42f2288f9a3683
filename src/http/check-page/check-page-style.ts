/** The stylesheet of /check (served as a file: the page's CSP allows no inline style). */
export const CHECK_PAGE_CSS = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #dfe3ea; --ok: #11693a; --ok-bg: #e5f5ec;
  --bad: #a1261b; --bad-bg: #fbe9e7; --wait: #6b5b00; --wait-bg: #fff6d6; --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans JP", sans-serif; }
main { max-width: 880px; margin: 32px auto; padding: 28px 32px; background: #fff; border: 1px solid var(--line);
  border-radius: 10px; }
h1 { margin: 0 0 6px; font-size: 24px; }
h2 { font-size: 17px; margin: 22px 0 8px; }
.lead { margin: 0 0 20px; color: var(--muted); }
label { display: block; font-weight: 600; margin-bottom: 6px; }
label.option { font-weight: 400; margin: 10px 0 0; }
textarea { width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px;
  font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; resize: vertical; }
.hint, .footnote { color: var(--muted); font-size: 13px; }
button { margin-top: 4px; padding: 8px 18px; border: 0; border-radius: 6px; background: var(--accent); color: #fff;
  font: inherit; font-weight: 600; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
#report { margin-top: 26px; border-top: 1px solid var(--line); padding-top: 18px; }
#status { font-weight: 600; }
table { width: 100%; border-collapse: collapse; margin: 10px 0 18px; }
th, td { text-align: left; padding: 9px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
td.server { font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace; color: var(--muted); white-space: nowrap; }
.no-rtt .rtt { display: none; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; }
tr[data-status="ok"] .badge { background: var(--ok-bg); color: var(--ok); }
tr[data-status="failed"] .badge { background: var(--bad-bg); color: var(--bad); }
tr[data-status="pending"] .badge { background: var(--wait-bg); color: var(--wait); }
.detail { display: block; color: var(--muted); font-size: 12.5px; margin-top: 2px; }
.detail.relay { white-space: nowrap; }
#advice { padding: 12px 16px; border-radius: 8px; background: #f0f4fb; border: 1px solid #d6e0f2; }
#advice.bad { background: var(--bad-bg); border-color: #f1c6c0; }
#advice.ok { background: var(--ok-bg); border-color: #bfe3cd; }
#advice p { margin: 6px 0; }
#advice ul { margin: 6px 0 6px 20px; padding: 0; }
code { font: 12.5px ui-monospace, Menlo, Consolas, monospace; background: #eef1f5; padding: 1px 4px; border-radius: 4px; }
`;
