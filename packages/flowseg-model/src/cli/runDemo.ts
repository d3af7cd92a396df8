import { resolve } from 'node:path';
import { generateSample } from '@flowseg/refseg-synth';
import type { FlowSegModel } from '../model/FlowSegModel.js';
import { readPngFile, writeRgbPngFile } from '../node/imageFiles.js';
import { segment } from '../inference/segment.js';
import { renderResultOverlay, unionMask } from '../inference/resultMasks.js';
import { renderOverlay } from '../image/renderOverlay.js';
import { maskOverlap, sampleIoU } from '../evaluation/maskIoU.js';
import type { RgbImage } from '../image/imageTypes.js';
import { DEMO_FAMILIES, type DemoArgs, type ModelArgs } from './cliArgs.js';
import type { CliIO } from './runCli.js';

/**
 * `flowseg demo` (what `npm start` runs): a test-split sample of the synthetic benchmark —
 * or the user's `--image` and `--prompt` — through the model; writes the overlay (reference
 * target outlined in white when known) and prints the answer and the IoU.
 */
export async function runDemo(
  args: DemoArgs,
  io: CliIO,
  openModel: (args: ModelArgs) => Promise<{ model: FlowSegModel; dir: string }>,
): Promise<void> {
  const started = performance.now();
  const out = resolve(args.out);
  let image: RgbImage;
  let prompt: string;
  let reference: Uint8Array | null = null;
  let about: string;
  if (args.image !== null) {
    image = await readPngFile(args.image, {}, '--image');
    prompt = args.prompt!;
    about = `image ${args.image}`;
  } else {
    const seed = args.seed ?? Math.floor(Math.random() * 1000);
    const family = args.family ?? DEMO_FAMILIES[seed % DEMO_FAMILIES.length]!;
    const sample = generateSample('test', family, seed);
    image = { rgb: sample.scene.image, width: sample.scene.width, height: sample.scene.height };
    prompt = sample.prompt;
    reference = new Uint8Array(image.width * image.height);
    for (const t of sample.targets) {
      const m = sample.scene.masks[t.objectId]!;
      for (let i = 0; i < m.length; i++) if (m[i]) reference[i] = 1;
    }
    about = `generated scene: test split, family ${family}, sample ${seed} (reproduce with --seed ${seed} --family ${family}); reference answer: ${sample.answer}`;
  }
  const { model, dir } = await openModel(args);
  try {
    const result = await segment(model, image, prompt, { candidates: 'none' });
    const predicted = unionMask(result);
    let overlay = renderResultOverlay(image, result);
    if (reference) {
      const mask = { data: reference, width: image.width, height: image.height };
      overlay = renderOverlay(overlay, [], { outlines: [{ mask, color: [255, 255, 255] }] });
    }
    await writeRgbPngFile(out, overlay);
    const iou = reference ? sampleIoU(maskOverlap(predicted.data, reference)) : null;
    const seconds = (performance.now() - started) / 1000;
    if (args.json) {
      io.stdout(`${JSON.stringify({ checkpoint: dir, about, prompt: result.prompt, answer: result.answer, targets: result.targets.length, iou, overlay: out, seconds })}\n`);
      return;
    }
    io.stdout(
      [
        `checkpoint: ${dir}`,
        about,
        `prompt:  ${result.prompt}`,
        `answer:  ${result.answer}`,
        ...result.targets.map((t) => `target ${t.segIndex}: score ${t.score.toFixed(3)} (p ${t.probability.toFixed(3)}), ${t.mask.data.reduce((a, v) => a + v, 0)} px`),
        iou === null ? 'IoU: no ground truth for your own image' : `IoU against the generated ground truth: ${iou.toFixed(3)}`,
        `overlay: ${out}${reference ? ' (reference outlined in white)' : ''}`,
        `done in ${seconds.toFixed(1)} s`,
      ].join('\n') + '\n',
    );
  } finally {
    model.dispose();
  }
}
