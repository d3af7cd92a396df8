import { ValueError } from '@flowseg/core';
import { BSFDecoderLayer, ConditionRefinement, SemanticCrossAttention, SemanticGate } from '@flowseg/bsf-layer';
import type { OnnxLayerExporter } from '../export/registry.js';
import type { OnnxExportContext } from '../export/OnnxExportContext.js';
import type { OnnxInputPort, OnnxOutputPort } from '../export/ports.js';
import { given, toFloat } from './graphOps.js';

/**
 * Ports shared by every decoder-layer exporter (the ONNX form of core's
 * `DecoderLayerInputs` plus FlowSeg's condition state): a decoder exporter feeds these and
 * reads `queries` (and `conditions`, when the layer refines them) back.
 */
export function decoderLayerPorts(dim: number, withConditions: boolean): OnnxInputPort[] {
  const q = ['batch', 'queries', dim];
  const m = ['batch', 'pixels', dim];
  const ports: OnnxInputPort[] = [
    { name: 'queries', dtypes: ['float32'], dims: q, doc: 'Query states `[batch, queries, channels]`.' },
    { name: 'queryPos', dtypes: ['float32'], dims: q, doc: 'Query positional embeddings `[batch | 1, queries, channels]`.' },
    { name: 'memory', dtypes: ['float32'], dims: m, doc: 'Flattened features of the attended scale `[batch, pixels, channels]`.' },
    { name: 'memoryPos', dtypes: ['float32'], dims: m, doc: 'Positional embeddings of `memory` `[batch | 1, pixels, channels]`.' },
    {
      name: 'attentionMask',
      dtypes: ['bool'],
      dims: ['batch', 'queries', 'pixels'],
      optional: true,
      doc: 'Masked-attention mask `[batch, queries, pixels]`, bool, `true` = blocked.',
    },
  ];
  if (withConditions) ports.push(...conditionPorts(dim, true));
  return ports;
}

function conditionPorts(dim: number, optional: boolean): OnnxInputPort[] {
  return [
    {
      name: 'conditions',
      dtypes: ['float32'],
      dims: ['batch', 'conditions', dim],
      optional,
      doc: 'Condition embeddings `C⁽ˡ⁻¹⁾` `[batch, conditions, channels]` (at least one slot; pad with a 0-mask row).',
    },
    {
      name: 'conditionMask',
      dtypes: ['float32'],
      dims: ['batch', 'conditions'],
      optional,
      doc: 'Condition validity `[batch, conditions]`, float32, > 0 = real condition.',
    },
  ];
}

/** Throws unless `conditions` and `conditionMask` are both given or both absent. @internal */
export function checkConditionPair(inputs: Readonly<Record<string, string>>, owner: string): boolean {
  const given = [inputs['conditions'], inputs['conditionMask']].filter((v) => v !== undefined).length;
  if (given === 1) {
    throw new ValueError(`${owner}: the inputs conditions and conditionMask go together (give both or neither)`, 'inputs');
  }
  return given === 2;
}

/** Bool `[batch, conditions]`, true where `conditionMask ≤ 0` (padding): bsf-layer's `conditionPaddingMask`. */
function conditionPadding(ctx: OnnxExportContext, conditionMask: string): string {
  return ctx.op('LessOrEqual', [conditionMask, ctx.scalar(0)], {}, 'condition_padding');
}

/** SemanticGate: `g = σ([visual ‖ semantic]·W + b)`, `fused = semantic + g⊙(visual − semantic)`. */
export const semanticGateExporter: OnnxLayerExporter<SemanticGate> = {
  signature: (gate) => ({
    inputs: [
      { name: 'visual', dtypes: ['float32'], dims: ['batch', 'queries', gate.dim], doc: 'Visual queries `Q_vis` `[batch, queries, channels]`.' },
      { name: 'semantic', dtypes: ['float32'], dims: ['batch', 'queries', gate.dim], doc: 'Semantic queries `Q_sem` `[batch, queries, channels]`.' },
    ],
    outputs: [
      { name: 'fused', dtype: 'float32', doc: 'Fused queries `[batch, queries, channels]`.' },
      { name: 'gate', dtype: 'float32', optional: true, doc: 'Gate `g` `[batch, queries, channels]`.' },
    ],
  }),
  emit: (gate, { visual, semantic }, ctx) => {
    gate.ensureBuilt();
    const both = ctx.op('Concat', [visual!, semantic!], { axis: -1 }, 'concat');
    const g = ctx.op('Sigmoid', [ctx.linear(gate, '', both, 'logits')], {}, 'gate');
    const diff = ctx.op('Sub', [visual!, semantic!], {}, 'diff');
    return { fused: ctx.op('Add', [semantic!, ctx.op('Mul', [g, diff], {}, 'gated')], {}, 'fused'), gate: g };
  },
};

/**
 * SemanticCrossAttention (SR): `Q_sem = MHA(Q_vis + pos, C, C)` over the real conditions,
 * gated fusion, and for items without any real condition `Q_fused = Q_vis` exactly
 * (`v + 0·x` with a per-item 0/1 factor, as in TF.js). The `conditions` axis must have at
 * least one slot (TF.js's 0-slot shortcut has no static ONNX form; a 0-mask slot is equivalent).
 */
export const semanticCrossAttentionExporter: OnnxLayerExporter<SemanticCrossAttention> = {
  signature: (layer) => ({
    inputs: [
      { name: 'queries', dtypes: ['float32'], dims: ['batch', 'queries', layer.dim], doc: 'Visual queries `Q_vis` `[batch, queries, channels]`.' },
      ...conditionPorts(layer.dim, false),
      { name: 'queryPos', dtypes: ['float32'], dims: ['batch', 'queries', layer.dim], optional: true, doc: 'Added to the attention query.' },
    ],
    outputs: [
      { name: 'fused', dtype: 'float32', doc: 'Fused queries `[batch, queries, channels]`.' },
      { name: 'semantic', dtype: 'float32', optional: true, doc: '`Q_sem` `[batch, queries, channels]`, 0 for items without conditions.' },
      { name: 'gate', dtype: 'float32', optional: true, doc: 'Gate `[batch, queries, channels]`, 1 for items without conditions.' },
    ],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const queries = inputs['queries']!;
    const conditions = inputs['conditions']!;
    const conditionMask = inputs['conditionMask']!;
    const { output } = ctx.emit(
      layer.attention,
      given({
        query: queries,
        key: conditions,
        value: conditions,
        queryPos: inputs['queryPos'],
        keyPaddingMask: conditionPadding(ctx, conditionMask),
      }),
      'multihead_attn',
    );
    const mixed = ctx.emit(layer.gate, { visual: queries, semantic: output! }, 'gate');
    // has [batch, 1, 1]: 1 when the item has a real condition (max of the mask > 0).
    const anyReal = ctx.op('Greater', [ctx.op('ReduceMax', [conditionMask], { axes: [1], keepdims: 1 }, 'mask_max'), ctx.scalar(0)], {}, 'has_any');
    const has = ctx.op('Unsqueeze', [toFloat(ctx, anyReal, 'has_f32'), ctx.int64([2])], {}, 'has');
    const fused = ctx.op('Add', [queries, ctx.op('Mul', [has, ctx.op('Sub', [mixed['fused']!, queries], {}, 'mix_delta')], {}, 'mix_kept')], {}, 'fused');
    const semantic = ctx.op('Mul', [has, output!], {}, 'semantic');
    const one = ctx.scalar(1);
    const gate = ctx.op('Sub', [one, ctx.op('Mul', [has, ctx.op('Sub', [one, mixed['gate']!], {}, 'one_minus_gate')], {}, 'gate_kept')], {}, 'gate_out');
    return { fused, semantic, gate };
  },
};

/**
 * ConditionRefinement (CR): `C⁽ˡ⁾ = C⁽ˡ⁻¹⁾ + 1[mask > 0]·MHA(C⁽ˡ⁻¹⁾, Q_s + pos, Q_s)`; padded
 * rows pass through exactly.
 */
export const conditionRefinementExporter: OnnxLayerExporter<ConditionRefinement> = {
  signature: (layer) => ({
    inputs: [
      ...conditionPorts(layer.dim, false),
      { name: 'queries', dtypes: ['float32'], dims: ['batch', 'queries', layer.dim], doc: 'Refined queries `Q_s` `[batch, queries, channels]` (keys and values).' },
      { name: 'queryPos', dtypes: ['float32'], dims: ['batch', 'queries', layer.dim], optional: true, doc: 'Added to the keys.' },
    ],
    outputs: [{ name: 'output', dtype: 'float32', doc: 'Refined conditions `C⁽ˡ⁾` `[batch, conditions, channels]`.' }],
  }),
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const conditions = inputs['conditions']!;
    const { output } = ctx.emit(
      layer.attention,
      given({ query: conditions, key: inputs['queries'], value: inputs['queries'], keyPos: inputs['queryPos'] }),
      'multihead_attn',
    );
    const real = ctx.op(
      'Unsqueeze',
      [toFloat(ctx, ctx.op('Greater', [inputs['conditionMask']!, ctx.scalar(0)], {}, 'real'), 'real_f32'), ctx.int64([2])],
      {},
      'real_3d',
    );
    return { output: ctx.op('Add', [conditions, ctx.op('Mul', [real, output!], {}, 'update')], {}, 'refined') };
  },
};

/**
 * BSFDecoderLayer, every switch combination: masked cross-attention → SR (when on and
 * conditions are given) → self-attention → FFN → CR (when on and conditions are given;
 * reading the FFN output or the self-attention output per `crSource`). Without conditions
 * it is the standard Mask2Former layer. Outputs `queries` and, with conditions, `conditions`
 * (refined by CR, or passed through).
 */
export const bsfDecoderLayerExporter: OnnxLayerExporter<BSFDecoderLayer> = {
  signature: (layer) => {
    const outputs: OnnxOutputPort[] = [
      { name: 'queries', dtype: 'float32', doc: 'Updated queries `Q⁽ˡ⁾` `[batch, queries, channels]`.' },
      { name: 'conditions', dtype: 'float32', optional: true, doc: 'Conditions after this layer `[batch, conditions, channels]` (needs the conditions inputs).' },
    ];
    return { inputs: decoderLayerPorts(layer.hiddenDim, true), outputs };
  },
  emit: (layer, inputs, ctx) => {
    layer.ensureBuilt();
    const { queries, queryPos, memory, memoryPos, attentionMask, conditions, conditionMask } = inputs;
    const withConditions = checkConditionPair(inputs, 'BSFDecoderLayer');
    const visual = ctx.emit(
      layer.crossAttention,
      given({ queries, queryPos, memory, memoryPos, attentionMask }),
      'cross_attn',
    )['output']!;
    const fused =
      withConditions && layer.semanticAttention
        ? ctx.emit(layer.semanticAttention, { queries: visual, queryPos: queryPos!, conditions: conditions!, conditionMask: conditionMask! }, 'semantic_attn')['fused']!
        : visual;
    const attended = ctx.emit(layer.selfAttention, given({ queries: fused, queryPos }), 'self_attn')['output']!;
    const out = ctx.emit(layer.feedForward, { x: attended }, 'ffn')['output']!;
    if (!withConditions) return { queries: out } as Record<string, string>;
    const refined = layer.conditionRefiner
      ? ctx.emit(
          layer.conditionRefiner,
          given({ conditions, conditionMask, queries: layer.crSource === 'ffn' ? out : attended, queryPos }),
          'condition_refinement',
        )['output']!
      : conditions!;
    return { queries: out, conditions: refined };
  },
};
