/**
 * The page's live charts as small hand-written SVG (no chart library on the first screen): a
 * smile per expiry (market mid IV with bid/ask bars, one line per model) and a residual heatmap
 * (model - market IV by expiry and log-moneyness bucket).
 */
import type { PlotQuote } from './protocol.js';

export const MODEL_COLORS: Record<string, string> = { black: '#8a8a8a', ssvi: '#2a9d8f', heston: '#d62828', bates: '#3a5ad6' };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export interface ModelIvs {
  model: string;
  /** Model IV per quote (PlotQuote order), null where none. */
  iv: Array<number | null>;
}

export function groupByExpiry(quotes: readonly PlotQuote[]): Array<{ expiry: string; T: number; idx: number[] }> {
  const map = new Map<string, { expiry: string; T: number; idx: number[] }>();
  quotes.forEach((q, i) => {
    let g = map.get(q.expiry);
    if (!g) map.set(q.expiry, (g = { expiry: q.expiry, T: q.T, idx: [] }));
    g.idx.push(i);
  });
  return [...map.values()].sort((a, b) => a.T - b.T);
}

const label = (expiry: string) => /^\d{4}-\d{2}-\d{2}/.exec(expiry)?.[0] ?? expiry;

export function smilesSvg(quotes: readonly PlotQuote[], fits: readonly ModelIvs[]): string {
  const W = 260, H = 170, L = 34, R = 6, Tp = 16, B = 22;
  return groupByExpiry(quotes)
    .map((g) => {
      const k = g.idx.map((i) => Math.log(quotes[i].strike / quotes[i].forward));
      const vals = g.idx.flatMap((i) => [quotes[i].iv, quotes[i].bidIv, quotes[i].askIv, ...fits.map((f) => f.iv[i])]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const kMin = Math.min(...k), kMax = Math.max(...k, kMin + 1e-6);
      const vMin = Math.min(...vals), vMax = Math.max(...vals, vMin + 1e-6);
      const x = (v: number) => L + ((v - kMin) / (kMax - kMin)) * (W - L - R);
      const y = (v: number) => Tp + (1 - (v - vMin) / (vMax - vMin)) * (H - Tp - B);
      const parts: string[] = [];
      parts.push(`<text x="${L}" y="11">${esc(label(g.expiry))} (T=${g.T.toFixed(3)})</text>`);
      parts.push(`<text x="2" y="${Tp + 8}">${(100 * vMax).toFixed(0)}%</text><text x="2" y="${H - B}">${(100 * vMin).toFixed(0)}%</text>`);
      parts.push(`<text x="${L}" y="${H - 6}">k=${kMin.toFixed(2)}</text><text x="${W - 50}" y="${H - 6}">${kMax.toFixed(2)}</text>`);
      parts.push(`<rect x="${L}" y="${Tp}" width="${W - L - R}" height="${H - Tp - B}" fill="none" stroke="#ccd"/>`);
      g.idx.forEach((i, j) => {
        const q = quotes[i];
        if (q.bidIv !== undefined && q.askIv !== undefined) parts.push(`<line x1="${x(k[j])}" x2="${x(k[j])}" y1="${y(q.bidIv)}" y2="${y(q.askIv)}" stroke="#aab"/>`);
        if (Number.isFinite(q.iv)) parts.push(`<circle cx="${x(k[j])}" cy="${y(q.iv)}" r="2" fill="#222"/>`);
      });
      for (const f of fits) {
        const pts = g.idx
          .map((i, j) => [k[j], f.iv[i]] as const)
          .filter((p): p is readonly [number, number] => p[1] !== null && Number.isFinite(p[1]))
          .sort((a, b) => a[0] - b[0])
          .map(([kk, v]) => `${x(kk).toFixed(1)},${y(v).toFixed(1)}`);
        if (pts.length) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${MODEL_COLORS[f.model] ?? '#000'}" stroke-width="1.5"/>`);
      }
      return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="smile ${esc(label(g.expiry))}">${parts.join('')}</svg>`;
    })
    .join('');
}

const BUCKETS = [-Infinity, -0.3, -0.15, -0.05, 0.05, 0.15, 0.3, Infinity];

function heatColor(d: number): string {
  // Blue: model below market; red: above; saturated at 2 vol points.
  const t = Math.max(-1, Math.min(1, d / 2));
  const c = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
}

/** Weighted mean residual in vol points per (expiry, moneyness bucket) for one model. */
export function heatmapSvg(quotes: readonly PlotQuote[], fit: ModelIvs): string {
  const groups = groupByExpiry(quotes);
  const cw = 64, ch = 20, L = 90, Tp = 18;
  const W = L + cw * (BUCKETS.length - 1), H = Tp + ch * groups.length + 4;
  const parts: string[] = [`<text x="0" y="12">${esc(fit.model)}</text>`];
  for (let b = 0; b < BUCKETS.length - 1; b++) {
    const lo = BUCKETS[b], hi = BUCKETS[b + 1];
    const name = !Number.isFinite(lo) ? `k<${hi}` : !Number.isFinite(hi) ? `k>${lo}` : `${lo}..${hi}`;
    parts.push(`<text x="${L + b * cw + 4}" y="12">${name}</text>`);
  }
  groups.forEach((g, r) => {
    parts.push(`<text x="0" y="${Tp + r * ch + 14}">${esc(label(g.expiry))}</text>`);
    for (let b = 0; b < BUCKETS.length - 1; b++) {
      let sw = 0, s = 0;
      for (const i of g.idx) {
        const q = quotes[i];
        const k = Math.log(q.strike / q.forward);
        const m = fit.iv[i];
        if (k < BUCKETS[b] || k >= BUCKETS[b + 1] || m === null || !Number.isFinite(q.iv)) continue;
        sw += q.weight;
        s += q.weight * 100 * (m - q.iv);
      }
      if (sw === 0) continue;
      const d = s / sw;
      parts.push(`<rect x="${L + b * cw}" y="${Tp + r * ch}" width="${cw - 2}" height="${ch - 2}" fill="${heatColor(d)}"><title>${d.toFixed(2)} vol pts</title></rect>`);
      parts.push(`<text x="${L + b * cw + 6}" y="${Tp + r * ch + 14}"${Math.abs(d) > 1.2 ? ' style="fill:#fff"' : ''}>${d.toFixed(2)}</text>`);
    }
  });
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="residuals ${esc(fit.model)}">${parts.join('')}</svg>`;
}
