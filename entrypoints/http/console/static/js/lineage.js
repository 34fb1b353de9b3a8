// A lineage graph drawn as SVG: columns by generation (ancestors left, descendants right),
// each node a thumbnail link to its asset.
import { content } from './api.js';
import { svg } from './dom.js';

const W = 112; const H = 92; const GAP_X = 64; const GAP_Y = 20; const PAD = 12;

export function levels(rootId, edges) {
  const level = new Map([[rootId, 0]]);
  const up = new Map(); const down = new Map();
  for (const e of edges) {
    if (!up.has(e.child_id)) up.set(e.child_id, []);
    up.get(e.child_id).push(e.parent_id);
    if (!down.has(e.parent_id)) down.set(e.parent_id, []);
    down.get(e.parent_id).push(e.child_id);
  }
  for (const [map, step] of [[up, -1], [down, 1]]) {
    let frontier = [rootId];
    while (frontier.length) {
      const next = [];
      for (const id of frontier) {
        for (const other of map.get(id) || []) {
          if (!level.has(other)) { level.set(other, level.get(id) + step); next.push(other); }
        }
      }
      frontier = next;
    }
  }
  return level;
}

export function graph(rootId, lineage) {
  const level = levels(rootId, lineage.edges);
  for (const n of lineage.nodes) if (!level.has(n.id)) level.set(n.id, 0);
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const columns = new Map();
  for (const [id, l] of level) {
    if (!columns.has(l)) columns.set(l, []);
    columns.get(l).push(id);
  }
  const order = [...columns.keys()].sort((a, b) => a - b);
  const tallest = Math.max(...[...columns.values()].map((c) => c.length));
  const width = order.length * (W + GAP_X) - GAP_X + 2 * PAD;
  const height = tallest * (H + GAP_Y) - GAP_Y + 2 * PAD;
  const at = new Map();
  order.forEach((l, x) => {
    const ids = columns.get(l).sort();
    const top = (height - (ids.length * (H + GAP_Y) - GAP_Y)) / 2;
    ids.forEach((id, y) => at.set(id, { x: PAD + x * (W + GAP_X), y: top + y * (H + GAP_Y) }));
  });
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'lineage', role: 'group',
    'aria-label': `Lineage: ${lineage.nodes.length} assets, ${lineage.edges.length} links` },
  svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
    markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0 0L10 5L0 10z', class: 'arrowhead' }))));
  for (const e of lineage.edges) {
    const a = at.get(e.parent_id); const b = at.get(e.child_id);
    if (!a || !b) continue;
    const x1 = a.x + W; const y1 = a.y + H / 2; const x2 = b.x; const y2 = b.y + H / 2;
    const mid = (x1 + x2) / 2;
    root.append(svg('path', { class: 'edge', d: `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`,
      'marker-end': 'url(#arrow)' }, svg('title', {}, (e.operation_type || e.relation || '').replaceAll('_', ' '))));
  }
  for (const [id, p] of at) {
    const node = byId.get(id) || { id, media_type: 'unknown' };
    const gone = node.deleted || node.tombstone || node.status === 'deleted';
    const link = svg('a', { href: `#/assets/${id}`, class: `node${id === rootId ? ' here' : ''}`, 'data-node': id,
      'aria-label': `${node.media_type} ${id.slice(-8)}${id === rootId ? ' (this asset)' : ''}` },
    svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 8 }),
    gone ? null : svg('image', { href: content(id), x: p.x + 4, y: p.y + 4, width: W - 8, height: H - 26,
      preserveAspectRatio: 'xMidYMid slice' }),
    svg('text', { x: p.x + W / 2, y: p.y + H - 8, 'text-anchor': 'middle' }, `${node.media_type} ${id.slice(-6)}`));
    root.append(link);
  }
  return root;
}
