import * as tf from '@tensorflow/tfjs';
import { FlowSegLayer, Linear, tidy, type DecoderLayer, type DecoderLayerContext, type DecoderLayerInputs } from '@flowseg/core';

/** What {@link RecordingLayer} saw in one call. */
export interface RecordedCall {
  layerIndex: number;
  numLayers: number;
  level: number;
  training: boolean;
  memoryShape: number[];
  maskShape: number[] | null;
  maskDtype: string | null;
  conditionsSeen: number[] | null;
  extrasSeen: string[];
}

/**
 * A test decoder layer: `q + proj(mean(memory))`; it records every call, replaces the
 * context's conditions with `conditions + 1` (keeping the same mask tensor), and leaves a
 * per-layer tensor in `extras`.
 */
export class RecordingLayer extends FlowSegLayer implements DecoderLayer {
  static readonly className = 'TestRecordingLayer';
  readonly hiddenDim: number;
  readonly calls: RecordedCall[] = [];
  private proj!: Linear;

  constructor(config: { hiddenDim: number; name?: string }) {
    super({ name: config.name });
    this.hiddenDim = config.hiddenDim;
  }

  override build(): void {
    if (this.built) return;
    this.proj = this.addChild('proj', new Linear({ inFeatures: this.hiddenDim, outFeatures: this.hiddenDim }));
    this.proj.ensureBuilt();
    super.build([]);
  }

  forwardLayer(inputs: DecoderLayerInputs, context: DecoderLayerContext): tf.Tensor3D {
    this.calls.push({
      layerIndex: context.layerIndex,
      numLayers: context.numLayers,
      level: context.level,
      training: context.training,
      memoryShape: inputs.memory.shape,
      maskShape: inputs.attentionMask ? inputs.attentionMask.shape : null,
      maskDtype: inputs.attentionMask ? inputs.attentionMask.dtype : null,
      conditionsSeen: context.conditions ? Array.from(context.conditions.conditions.dataSync()) : null,
      extrasSeen: [...context.extras.keys()],
    });
    const r = tidy(() => ({
      q: tf.add(inputs.queries, this.proj.forward(tf.mean(inputs.memory, 1, true))) as tf.Tensor3D,
      c: context.conditions
        ? { conditions: tf.add(context.conditions.conditions, 1) as tf.Tensor3D, conditionMask: context.conditions.conditionMask }
        : null,
    }));
    if (r.c) context.conditions = r.c;
    context.extras.set(`layer${context.layerIndex}`, tf.scalar(context.layerIndex));
    return r.q;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), hiddenDim: this.hiddenDim };
  }
}
tf.serialization.registerClass(RecordingLayer);
