// The lab benchmark's chart (docs/bench-lab.svg): a grouped bar chart of
// goodput per rate, one panel per MTU, with the link sum and the MPTCP
// header ceiling over each group. No dependencies.
import { fixed as f } from '../common.mjs';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const SERIES = [
  { key: 'lib', label: 'lib, 2 paths', color: '#1f77b4' },
  { key: 'kernel', label: 'kernel (Python), 2 paths', color: '#ff7f0e' },
  { key: 'tcp', label: 'plain TCP, 1 path', color: '#7f7f7f' },
];
const W = 980;
const H = 470;
const top = 92;
const bottom = 70;
const left = 70;
const gapPanels = 60;
const right = 20;
const plotH = H - top - bottom;

/** The legend row: one entry per series, then the link-sum outline and the ceiling line. */
function legend(o) {
  const items = [...SERIES.map((s) => ({ ...s, kind: 'bar' })), { label: 'sum of link rates', kind: 'sum' }, { label: 'header ceiling (MPTCP)', kind: 'ceil' }];
  let lx = left;
  const ly = 62;
  for (const it of items) {
    if (it.kind === 'bar') o.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="12" fill="${it.color}"/>`);
    else if (it.kind === 'sum') o.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="12" fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="4 2"/>`);
    else o.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="#d62728" stroke-width="2"/>`);
    o.push(`<text x="${lx + 19}" y="${ly}">${esc(it.label)}</text>`);
    lx += 19 + it.label.length * 6.6 + 22;
  }
}

/** One MTU's panel at x0: grid, y ticks, and per rate a group of bars under its link sum and ceiling. */
function panel(o, { x0, panelW, mtu, cs, y, yMax, step }) {
  // grid and y ticks
  for (let v = 0; v <= yMax; v += step) {
    o.push(`<line x1="${x0}" y1="${y(v).toFixed(1)}" x2="${(x0 + panelW).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${v === 0 ? '#000' : '#e3e3e3'}" stroke-width="1"/>`);
    o.push(`<text x="${x0 - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v}</text>`);
  }
  o.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + plotH}" stroke="#000"/>`);
  o.push(`<text x="${(x0 + panelW / 2).toFixed(1)}" y="${top - 8}" text-anchor="middle" font-size="13" font-weight="bold">MTU ${mtu}</text>`);
  const groupW = panelW / Math.max(cs.length, 1);
  const barW = Math.min(40, (groupW * 0.75) / SERIES.length);
  cs.forEach((c, gi) => {
    const gx = x0 + gi * groupW + (groupW - barW * SERIES.length) / 2;
    const spanX = gx - 4;
    const spanW = barW * SERIES.length + 8;
    // link sum: dashed outline over the group; header ceiling: red line
    o.push(`<rect x="${spanX.toFixed(1)}" y="${y(c.linkSumMbit).toFixed(1)}" width="${spanW.toFixed(1)}" height="${(top + plotH - y(c.linkSumMbit)).toFixed(1)}" fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="4 2"><title>sum of link rates: ${c.linkSumMbit} Mbit/s</title></rect>`);
    const cap = c.linkSumMbit * c.ceiling.mptcp;
    o.push(`<line x1="${spanX.toFixed(1)}" y1="${y(cap).toFixed(1)}" x2="${(spanX + spanW).toFixed(1)}" y2="${y(cap).toFixed(1)}" stroke="#d62728" stroke-width="2"><title>MPTCP header ceiling: ${cap.toFixed(1)} Mbit/s</title></line>`);
    SERIES.forEach((s, si) => {
      const v = c.median[s.key];
      const bx = gx + si * barW;
      if (!Number.isFinite(v)) {
        o.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(top + plotH - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#999">n/a</text>`);
        return;
      }
      o.push(`<rect x="${(bx + 1).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${s.color}"><title>${esc(s.label)}: ${v.toFixed(1)} Mbit/s</title></rect>`);
      // value inside the bar's top (clear of the outline and ceiling line), above it when too short
      const inside = top + plotH - y(v) > 18;
      o.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(inside ? y(v) + 12 : y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9"${inside ? ' fill="#ffffff"' : ''}>${v.toFixed(1)}</text>`);
    });
    o.push(`<text x="${(x0 + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" font-size="12">2 x ${c.rateMbit}</text>`);
    o.push(`<text x="${(x0 + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 32}" text-anchor="middle" font-size="10" fill="#444">lib/sum ${f(c.ratios.libToLinkSum, 3)}</text>`);
  });
  o.push(`<text x="${(x0 + panelW / 2).toFixed(1)}" y="${H - 14}" text-anchor="middle" font-size="13">rate per path (Mbit/s)</text>`);
}

/** The chart of result.aggregation as an SVG document. */
export function renderSvg(result) {
  const a = result.aggregation;
  const mtus = a ? [...new Set(a.configs.map((c) => c.mtu))] : [];
  const panelW = mtus.length ? (W - left - right - gapPanels * (mtus.length - 1)) / mtus.length : W - left - right;
  const maxVal = a ? Math.max(...a.configs.map((c) => c.linkSumMbit), ...a.configs.flatMap((c) => Object.values(c.median).filter(Number.isFinite))) : 100;
  const step = maxVal > 200 ? 50 : maxVal > 80 ? 25 : 10;
  const yMax = Math.ceil((maxVal * 1.08) / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  const env = result.env;
  const title = 'mptcp lab: goodput over two tbf-shaped veth paths';
  const sub = a
    ? `server-side goodput, median of ${a.reps} x ${a.seconds} s; node ${env.node}, kernel ${env.kernel}, ${env.date.slice(0, 10)}${env.quick ? ' (quick)' : ''}`
    : 'aggregation phase not run';
  o.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold">${esc(title)}</text>`);
  o.push(`<text x="${W / 2}" y="43" text-anchor="middle" font-size="12" fill="#444">${esc(sub)}</text>`);
  legend(o);
  // y axis label
  o.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13">goodput (Mbit/s)</text>`);
  mtus.forEach((mtu, pi) => {
    panel(o, { x0: left + pi * (panelW + gapPanels), panelW, mtu, cs: a.configs.filter((c) => c.mtu === mtu), y, yMax, step });
  });
  if (!mtus.length) o.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no aggregation data</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
