import { describe, it, expect } from 'vitest';
import { deflateSync } from 'node:zlib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ShapeError, ValueError } from '@flowseg/core';
import { maskOutline, renderOverlay, unionMask, renderResultOverlay, type BinaryMask, type RgbImage, type SegmentResult } from '../../src/index.js';
import { decodePng, encodeMaskPng, encodeRgbPng, readPngFile, writeMaskPngFile } from '../../src/node/index.js';

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'ascii'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A 2×2 8-bit palette PNG written by hand (pngjs cannot write palettes). */
function palettePng(): Uint8Array {
  const header = new Uint8Array(13);
  const v = new DataView(header.buffer);
  v.setUint32(0, 2);
  v.setUint32(4, 2);
  header.set([8, 3, 0, 0, 0], 8); // bit depth 8, colour type 3 (palette)
  const palette = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]);
  const rows = Uint8Array.from([0, 0, 1, 0, 2, 0]); // filter byte 0 per row, then indices
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('PLTE', palette),
    chunk('IDAT', new Uint8Array(deflateSync(rows))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

describe('PNG decoding and encoding', () => {
  const image: RgbImage = { rgb: Uint8Array.from({ length: 3 * 4 * 3 }, (_, i) => (i * 23) % 256), width: 4, height: 3 };

  it('round-trips RGB and decodes grey, palette and RGBA PNGs to RGB', () => {
    expect(decodePng(encodeRgbPng(image))).toEqual(image);
    const grey = new PNG({ width: 2, height: 1, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    grey.data = Buffer.from([10, 200]);
    const greyBytes = new Uint8Array(PNG.sync.write(grey, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
    expect(Array.from(decodePng(greyBytes).rgb)).toEqual([10, 10, 10, 200, 200, 200]);
    expect(Array.from(decodePng(palettePng()).rgb)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0]);
    const rgba = new PNG({ width: 2, height: 1 });
    rgba.data = Buffer.from([100, 50, 0, 255, 200, 100, 50, 0]);
    const rgbaBytes = new Uint8Array(PNG.sync.write(rgba));
    expect(Array.from(decodePng(rgbaBytes).rgb)).toEqual([100, 50, 0, 200, 100, 50]); // alpha ignored
    // Composited over white: opaque pixel kept, transparent one becomes the background.
    expect(Array.from(decodePng(rgbaBytes, { background: [255, 255, 255] }).rgb)).toEqual([100, 50, 0, 255, 255, 255]);
  });

  it('writes masks as greyscale 0/255', () => {
    const mask: BinaryMask = { data: Uint8Array.from([0, 1, 1, 0]), width: 2, height: 2 };
    const decoded = decodePng(encodeMaskPng(mask));
    expect(Array.from(decoded.rgb)).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0]);
    expect(() => encodeMaskPng({ data: Uint8Array.from([0, 2]), width: 2, height: 1 })).toThrow(/^mask\.data: expected 0 or 1, found 2/);
    expect(() => encodeMaskPng({ data: new Uint8Array(3), width: 2, height: 1 })).toThrow(ShapeError);
  });

  it('rejects what is not a readable PNG, naming the argument', () => {
    expect(() => decodePng(new Uint8Array(0))).toThrow(/^image: not a PNG file \(it is empty\)/);
    expect(() => decodePng(Buffer.from('GIF89a........'), {}, '--image in.gif')).toThrow(/^--image in\.gif: not a PNG file/);
    const truncated = encodeRgbPng(image).slice(0, 40);
    const e = (() => {
      try {
        decodePng(truncated);
      } catch (error) {
        return error;
      }
    })();
    expect(e).toBeInstanceOf(ValueError);
    expect((e as Error).message).toMatch(/^image: unreadable PNG/);
    expect(() => encodeRgbPng({ rgb: new Uint8Array(5), width: 2, height: 1 })).toThrow(ShapeError);
    expect(() => encodeRgbPng({ rgb: new Uint8Array(0), width: 0, height: 1 })).toThrow(/^image\.width: expected a positive integer/);
  });

  it('reads and writes files with clear errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowseg-png-'));
    try {
      await expect(readPngFile(join(dir, 'none.png'), {}, '--image')).rejects.toThrow(/^--image: .*none\.png: no such file/);
      await writeFile(join(dir, 'text.png'), 'hello');
      await expect(readPngFile(join(dir, 'text.png'), {}, '--image')).rejects.toThrow(/^--image .*text\.png: not a PNG file/);
      const mask: BinaryMask = { data: Uint8Array.from([1, 0, 0, 1]), width: 2, height: 2 };
      await writeMaskPngFile(join(dir, 'mask.png'), mask);
      expect(Array.from((await readPngFile(join(dir, 'mask.png'))).rgb).filter((_, i) => i % 3 === 0)).toEqual([255, 0, 0, 255]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('overlays', () => {
  const grey = (w: number, h: number): RgbImage => ({ rgb: new Uint8Array(w * h * 3).fill(100), width: w, height: h });

  it('tints mask pixels by the opacity blend and draws outlines', () => {
    const mask: BinaryMask = { data: Uint8Array.from([0, 1, 0, 0]), width: 2, height: 2 };
    const out = renderOverlay(grey(2, 2), [{ mask, color: [255, 0, 0] }], { opacity: 0.5 });
    // 0.5·100 + 0.5·255 = 177.5 → 178; 0.5·100 + 0 = 50.
    expect(Array.from(out.rgb.subarray(3, 6))).toEqual([178, 50, 50]);
    expect(Array.from(out.rgb.subarray(0, 3))).toEqual([100, 100, 100]);
    // A 3×3 block in a 5×5 image: its outline is the 8 pixels around the centre.
    const block = new Uint8Array(25);
    for (const y of [1, 2, 3]) for (const x of [1, 2, 3]) block[y * 5 + x] = 1;
    const outline = maskOutline({ data: block, width: 5, height: 5 });
    expect(outline.data.reduce((a, v) => a + v, 0)).toBe(8);
    expect(outline.data[12]).toBe(0);
    const drawn = renderOverlay(grey(5, 5), [], { outlines: [{ mask: { data: block, width: 5, height: 5 }, color: [0, 0, 255] }] });
    expect(Array.from(drawn.rgb.subarray(6 * 3, 6 * 3 + 3))).toEqual([0, 0, 255]);
    expect(Array.from(drawn.rgb.subarray(12 * 3, 12 * 3 + 3))).toEqual([100, 100, 100]);
  });

  it('rejects masks of another size and bad options', () => {
    const mask: BinaryMask = { data: new Uint8Array(6), width: 3, height: 2 };
    expect(() => renderOverlay(grey(2, 2), [{ mask }])).toThrow(/^masks\[0\]\.mask: expected \[height=2, width=2\]/);
    expect(() => renderOverlay(grey(2, 2), [], { opacity: 2 })).toThrow(/^opacity/);
    expect(() => renderOverlay(grey(2, 2), [{ mask: { data: new Uint8Array(4), width: 2, height: 2 }, color: [300, 0, 0] }])).toThrow(
      /^masks\[0\]\.color/,
    );
  });

  it('unions the targets of a result and outlines runner-up candidates', () => {
    const m = (bits: number[]): BinaryMask => ({ data: Uint8Array.from(bits), width: 2, height: 1 });
    const candidate = (index: number, score: number, bits: number[]) => ({ index, score, probability: 0, objectProbability: 0, mask: m(bits) });
    const target = (k: number, bits: number[]) => ({
      segIndex: k,
      phrases: [],
      selectedIndex: 0,
      score: 1,
      probability: 1,
      objectProbability: 1,
      logits: { data: new Float32Array(1), width: 1, height: 1 },
      mask: m(bits),
      candidates: [candidate(0, 1, bits), candidate(1, 0.5, [1, 1]), candidate(2, 0.9, [0, 0])],
    });
    const result: SegmentResult = {
      prompt: '',
      unknownWords: [],
      answer: '',
      answerSource: 'given',
      repairs: [],
      phrases: [],
      targets: [target(0, [1, 0]), target(1, [0, 0])],
      imageWidth: 2,
      imageHeight: 1,
      maskWidth: 1,
      maskHeight: 1,
    };
    expect(Array.from(unionMask(result).data)).toEqual([1, 0]);
    // Best runner-up of target 0 is candidate 2 (empty), then candidate 1 (both pixels).
    const one = renderResultOverlay(grey(2, 1), result, { candidateOutlines: 1, opacity: 0 });
    expect(Array.from(one.rgb)).toEqual([100, 100, 100, 100, 100, 100]);
    const two = renderResultOverlay(grey(2, 1), result, { candidateOutlines: 2, opacity: 0, outlineColor: [1, 2, 3] });
    expect(Array.from(two.rgb)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(() => renderResultOverlay(grey(2, 1), result, { candidateOutlines: -1 })).toThrow(/^candidateOutlines/);
  });
});
