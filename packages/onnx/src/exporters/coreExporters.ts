import {
  CrossAttentionBlock,
  FeedForward,
  FeedForwardBlock,
  LayerNorm,
  Linear,
  MultiHeadAttention,
  SelfAttentionBlock,
} from '@flowseg/core';
import { registerOnnxExporter } from '../export/registry.js';
import { feedForwardExporter, layerNormExporter, linearExporter } from './linearExporters.js';
import { multiHeadAttentionExporter } from './attentionExporter.js';
import { crossAttentionBlockExporter, feedForwardBlockExporter, selfAttentionBlockExporter } from './blockExporters.js';

/**
 * Register the exporters of `@flowseg/core`'s layers (`Linear`, `LayerNorm`, `FeedForward`,
 * `MultiHeadAttention`, `CrossAttentionBlock`, `SelfAttentionBlock`, `FeedForwardBlock`).
 * Importing `@flowseg/onnx` does this; call it again to restore them after replacing one.
 */
export function registerCoreOnnxExporters(): void {
  registerOnnxExporter(Linear, linearExporter);
  registerOnnxExporter(LayerNorm, layerNormExporter);
  registerOnnxExporter(FeedForward, feedForwardExporter);
  registerOnnxExporter(MultiHeadAttention, multiHeadAttentionExporter);
  registerOnnxExporter(CrossAttentionBlock, crossAttentionBlockExporter);
  registerOnnxExporter(SelfAttentionBlock, selfAttentionBlockExporter);
  registerOnnxExporter(FeedForwardBlock, feedForwardBlockExporter);
}
