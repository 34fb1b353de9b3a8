// Small SVG charts: stacked bars per day.
import { h, svg } from './dom.js';

export function days(n) {
  const out = [];
  const today = new Date();
  for (let i = n - 1; i >= 0; i -= 1) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

// series: [{key, label}], rows: {day: {key: value}}
export function bars(title, dayList, series, rows) {
  const W = 640; const H = 200; const L = 36; const B = 24; const T = 8;
  const totals = dayList.map((d) => series.reduce((s, x) => s + ((rows[d] || {})[x.key] || 0), 0));
  const top = Math.max(1, ...totals);
  const step = (W - L) / dayList.length;
  const scale = (v) => (v / top) * (H - B - T);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title },
    svg('title', {}, title),
    svg('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' }),
    svg('text', { x: L - 6, y: T + 10, 'text-anchor': 'end', class: 'tick' }, String(top)),
    svg('text', { x: L - 6, y: H - B, 'text-anchor': 'end', class: 'tick' }, '0'));
  dayList.forEach((d, i) => {
    let y = H - B;
    series.forEach((s, k) => {
      const v = (rows[d] || {})[s.key] || 0;
      if (!v) return;
      const hgt = scale(v);
      y -= hgt;
      chart.append(svg('rect', { x: L + i * step + 2, y, width: Math.max(2, step - 4), height: hgt, class: `bar c${k}` },
        svg('title', {}, `${d}: ${v} ${s.label}`)));
    });
    if (dayList.length <= 16 || i % 2 === 0) {
      chart.append(svg('text', { x: L + i * step + step / 2, y: H - 8, 'text-anchor': 'middle', class: 'tick' }, d.slice(5)));
    }
  });
  const legend = h('ul', { class: 'legend' }, series.map((s, k) => h('li', {}, h('span', { class: `key c${k}` }), s.label)));
  return h('figure', { class: 'figure' }, chart, h('figcaption', {}, title), legend);
}
