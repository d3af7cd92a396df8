import type { Scene, SceneObject } from './Scene.js';

/**
 * Where an object's centre lies on a 3 × 3 grid, as words: "at the top left", "at the top",
 * "at the left", "in the center", "at the bottom right", …
 */
export function positionPhrase(o: Pick<SceneObject, 'cx' | 'cy'>, width: number, height: number): string {
  const col = o.cx < width / 3 ? 'left' : o.cx < (2 * width) / 3 ? 'center' : 'right';
  const row = o.cy < height / 3 ? 'top' : o.cy < (2 * height) / 3 ? 'middle' : 'bottom';
  if (row === 'middle') return col === 'center' ? 'in the center' : `at the ${col}`;
  return col === 'center' ? `at the ${row}` : `at the ${row} ${col}`;
}

/**
 * A one-sentence scene description for vision–language alignment (training stage 2), listing
 * every object in reading order (grid row, then x):
 * "a large red circle at the top left, a small blue square in the center, and a small green star at the bottom right."
 */
export function describeScene(scene: Pick<Scene, 'objects' | 'width' | 'height'>): string {
  const row = (o: SceneObject) => Math.min(2, Math.floor((o.cy / scene.height) * 3));
  const items = [...scene.objects]
    .sort((a, b) => row(a) - row(b) || a.cx - b.cx)
    .map((o) => `a ${o.size} ${o.color} ${o.shape} ${positionPhrase(o, scene.width, scene.height)}`);
  if (items.length === 1) return `${items[0]}.`;
  if (items.length === 2) return `${items[0]} and ${items[1]}.`;
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}.`;
}
