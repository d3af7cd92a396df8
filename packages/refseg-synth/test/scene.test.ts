import { describe, expect, it } from 'vitest';
import {
  COLOR_RGB,
  DEFAULT_SYNTH_OPTIONS,
  FAMILIES,
  describeScene,
  generateSample,
  generateScene,
  positionPhrase,
  sampleSeed,
  type Scene,
} from '../src/index.js';
import { areaIndependent, fullMaskIndependent, perimeterIndependent } from './support/independentGeometry.js';

const W = 64;
const H = 64;

function scenes(): Scene[] {
  const out: Scene[] = [];
  for (let i = 0; i < 60; i++) out.push(generateScene(sampleSeed('train', 'scene', i)).scene);
  for (const f of FAMILIES) for (let i = 0; i < 20; i++) out.push(generateSample('val', f, i).scene);
  return out;
}

const ALL = scenes();

describe('scene masks', () => {
  it('are binary, pairwise disjoint and agree with the instance map', () => {
    let bad = 0;
    for (const s of ALL) {
      expect(s.image.length).toBe(W * H * 3);
      expect(s.masks.length).toBe(s.objects.length);
      s.objects.forEach((o, k) => expect(o.id).toBe(k));
      for (let i = 0; i < W * H; i++) {
        let owners = 0;
        let owner = 0;
        for (let k = 0; k < s.masks.length; k++) {
          const v = s.masks[k]![i]!;
          if (v !== 0 && v !== 1) bad++;
          if (v === 1) {
            owners++;
            owner = k + 1;
          }
        }
        if (owners > 1 || s.instanceMap[i] !== owner) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it('equal the topmost of the independently rasterised full shapes (occlusion order = id order)', () => {
    let occluded = 0;
    for (const s of ALL) {
      const full = s.objects.map((o) => fullMaskIndependent(o, W, H));
      const expected = new Uint8Array(W * H);
      full.forEach((m, k) => m.forEach((v, i) => v && (expected[i] = k + 1)));
      expect(Buffer.compare(Buffer.from(expected), Buffer.from(s.instanceMap))).toBe(0);
      s.objects.forEach((o, k) => {
        const fullCount = full[k]!.reduce((a, b) => a + b, 0);
        expect(o.fullPixels).toBe(fullCount);
        expect(o.visiblePixels).toBe(s.masks[k]!.reduce((a, b) => a + b, 0));
        if (o.visiblePixels < o.fullPixels) occluded++;
      });
    }
    // The scenes do contain occlusion.
    expect(occluded).toBeGreaterThan(ALL.length / 2);
  });

  it('of unoccluded objects match their shape geometry (a circle covers ≈ πr² pixels)', () => {
    let checked = 0;
    for (const s of ALL) {
      for (const o of s.objects) {
        if (o.visiblePixels !== o.fullPixels) continue;
        const area = areaIndependent(o.shape, o.radius);
        expect(o.area).toBeCloseTo(area, 6);
        expect(Math.abs(o.visiblePixels - area)).toBeLessThan(0.4 * perimeterIndependent(o.shape, o.radius) + 1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('keep every object segmentable, inside the image and in its size class', () => {
    const o = DEFAULT_SYNTH_OPTIONS;
    const px = W * H;
    for (const s of ALL) {
      for (const ob of s.objects) {
        expect(ob.visiblePixels).toBeGreaterThanOrEqual(o.minVisiblePixels);
        expect(ob.visiblePixels).toBeGreaterThanOrEqual(o.minVisibleFraction * ob.fullPixels);
        expect(ob.cx - ob.radius).toBeGreaterThanOrEqual(0);
        expect(ob.cy - ob.radius).toBeGreaterThanOrEqual(0);
        expect(ob.cx + ob.radius).toBeLessThanOrEqual(W);
        expect(ob.cy + ob.radius).toBeLessThanOrEqual(H);
        const [lo, hi] = ob.size === 'small' ? o.smallArea : o.largeArea;
        expect(ob.area).toBeGreaterThanOrEqual(lo * px - 1e-9);
        expect(ob.area).toBeLessThanOrEqual(hi * px + 1e-9);
      }
      expect(s.objects.length).toBeGreaterThanOrEqual(o.minObjects);
      expect(s.objects.length).toBeLessThanOrEqual(o.maxObjects);
    }
  });

  it('never let two objects of the same colour touch (instances stay separable)', () => {
    for (const s of ALL) {
      for (const a of s.objects) {
        for (const b of s.objects) {
          if (a.id >= b.id || a.color !== b.color) continue;
          const ma = s.masks[a.id]!;
          const mb = s.masks[b.id]!;
          let touching = 0;
          for (let j = 0; j < H; j++) {
            for (let i = 0; i < W; i++) {
              if (!ma[j * W + i]) continue;
              for (const [di, dj] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
                const x = i + di;
                const y = j + dj;
                if (x >= 0 && x < W && y >= 0 && y < H && mb[y * W + x]) touching++;
              }
            }
          }
          expect(touching, `${a.color} objects ${a.id} and ${b.id}`).toBe(0);
        }
      }
    }
  });
});

describe('scene pixels', () => {
  it('inside a mask equal the object colour; outside every mask are low-contrast near-grey background', () => {
    const objectColors = new Set(Object.values(COLOR_RGB).map((c) => c.join(',')));
    let wrongObjectPixels = 0;
    let wrongBackgroundPixels = 0;
    for (const s of ALL) {
      for (let i = 0; i < W * H; i++) {
        const rgb = [s.image[i * 3]!, s.image[i * 3 + 1]!, s.image[i * 3 + 2]!] as const;
        const owner = s.instanceMap[i]!;
        if (owner > 0) {
          if (rgb.join(',') !== COLOR_RGB[s.objects[owner - 1]!.color].join(',')) wrongObjectPixels++;
        } else if (Math.max(...rgb) - Math.min(...rgb) > 16 || objectColors.has(rgb.join(','))) {
          wrongBackgroundPixels++;
        }
      }
    }
    expect(wrongObjectPixels).toBe(0);
    expect(wrongBackgroundPixels).toBe(0);
  });

  it('every colour is saturated (channel spread ≥ 100), so it differs from any background pixel', () => {
    for (const c of Object.values(COLOR_RGB)) expect(Math.max(...c) - Math.min(...c)).toBeGreaterThanOrEqual(100);
  });
});

describe('generation determinism', () => {
  it('gives byte-identical images, masks and text for the same seed', () => {
    for (const f of FAMILIES) {
      const a = generateSample('test', f, 5);
      const b = generateSample('test', f, 5);
      expect(Buffer.compare(Buffer.from(a.scene.image), Buffer.from(b.scene.image))).toBe(0);
      a.scene.masks.forEach((m, k) => expect(Buffer.compare(Buffer.from(m), Buffer.from(b.scene.masks[k]!))).toBe(0));
      expect([a.prompt, a.answer, a.text, a.description]).toEqual([b.prompt, b.answer, b.text, b.description]);
      expect(a.scene.objects).toEqual(b.scene.objects);
    }
  });

  it('gives different scenes and text for different seeds', () => {
    for (const f of FAMILIES) {
      const images = new Set<string>();
      const texts = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const s = generateSample('test', f, i);
        images.add(Buffer.from(s.scene.image).toString('base64'));
        texts.add(s.answer + s.description);
      }
      expect(images.size).toBe(20);
      expect(texts.size).toBe(20);
    }
  });
});

describe('scene descriptions', () => {
  it('name positions on a 3 × 3 grid', () => {
    expect(positionPhrase({ cx: 5, cy: 5 }, 64, 64)).toBe('at the top left');
    expect(positionPhrase({ cx: 32, cy: 5 }, 64, 64)).toBe('at the top');
    expect(positionPhrase({ cx: 60, cy: 32 }, 64, 64)).toBe('at the right');
    expect(positionPhrase({ cx: 32, cy: 32 }, 64, 64)).toBe('in the center');
    expect(positionPhrase({ cx: 60, cy: 60 }, 64, 64)).toBe('at the bottom right');
  });

  it('list every object once with its attributes and position', () => {
    for (const s of ALL.slice(0, 50)) {
      const d = describeScene(s);
      expect(d.endsWith('.')).toBe(true);
      const items = d.slice(0, -1).split(/, and |, | and /);
      expect(items.length).toBe(s.objects.length);
      const expected = s.objects.map((o) => `a ${o.size} ${o.color} ${o.shape} ${positionPhrase(o, W, H)}`).sort();
      expect([...items].sort()).toEqual(expected);
    }
  });
});
