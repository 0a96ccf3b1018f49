// A dependency-free SVG chart of a demo run: offered load and who served it, the Modal share
// Spillway published, Modal containers, and errors/shed over time.

export interface ChartPoint {
  t: number;
  offeredRps: number;
  inHouseRps: number;
  modalRps: number;
  shedRps: number;
  errorRps: number;
  /** Published Modal share, 0–1 (from Spillway's decisions). */
  modalShare: number;
  modalContainers: number;
}

const W = 960;
const PANEL_H = 170;
const M = { left: 60, right: 20, top: 30, gap: 40 };

function polyline(points: Array<[number, number]>, color: string, width = 2): string {
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}" points="${d}"/>`;
}

function panel(
  index: number,
  title: string,
  data: ChartPoint[],
  series: Array<{ label: string; color: string; value: (p: ChartPoint) => number }>,
  yMaxHint?: number,
): string {
  const top = M.top + index * (PANEL_H + M.gap);
  const innerW = W - M.left - M.right;
  const tMax = Math.max(1, ...data.map((p) => p.t));
  const yMax = yMaxHint ?? Math.max(1, ...data.flatMap((p) => series.map((s) => s.value(p)))) * 1.1;
  const x = (t: number): number => M.left + (t / tMax) * innerW;
  const y = (v: number): number => top + PANEL_H - (v / yMax) * PANEL_H;
  const parts = [
    `<text x="${M.left}" y="${top - 8}" font-size="13" font-weight="bold">${title}</text>`,
    `<rect x="${M.left}" y="${top}" width="${innerW}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`,
  ];
  for (const frac of [0, 0.5, 1]) {
    const v = yMax * frac;
    parts.push(`<text x="${M.left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v >= 10 ? Math.round(v) : v.toFixed(2)}</text>`);
  }
  series.forEach((s, i) => {
    parts.push(
      polyline(
        data.map((p) => [x(p.t), y(s.value(p))]),
        s.color,
      ),
    );
    parts.push(`<text x="${M.left + 10 + i * 150}" y="${top + 14}" font-size="11" fill="${s.color}">■ ${s.label}</text>`);
  });
  return parts.join('\n');
}

export function renderChart(data: ChartPoint[], title: string): string {
  const height = M.top + 3 * (PANEL_H + M.gap);
  const tMax = Math.max(1, ...data.map((p) => p.t));
  const body = [
    panel(0, 'Requests per second', data, [
      { label: 'offered', color: '#222', value: (p) => p.offeredRps },
      { label: 'in-house', color: '#1f77b4', value: (p) => p.inHouseRps },
      { label: 'Modal', color: '#ff7f0e', value: (p) => p.modalRps },
      { label: 'shed + errors', color: '#d62728', value: (p) => p.shedRps + p.errorRps },
    ]),
    panel(1, 'Modal share published by Spillway', data, [{ label: 'Modal share', color: '#ff7f0e', value: (p) => p.modalShare }], 1),
    panel(2, 'Modal containers (starting or live)', data, [{ label: 'containers', color: '#2ca02c', value: (p) => p.modalContainers }]),
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height + 20}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" font-size="15" text-anchor="middle">${title}</text>
${body}
<text x="${W / 2}" y="${height + 10}" font-size="11" text-anchor="middle">seconds (0–${tMax})</text>
</svg>
`;
}
