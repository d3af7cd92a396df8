import type { OnnxElementType } from '../proto/onnxProto.js';

/** Ops whose output has the element type of their first input. */
const SAME_AS_FIRST = new Set([
  'Identity', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Expand', 'Flatten', 'Concat', 'Slice',
  'Gather', 'Tile', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Neg', 'Abs', 'Relu', 'Sigmoid', 'Tanh', 'Erf',
  'Exp', 'Log', 'Sqrt', 'Reciprocal', 'MatMul', 'Gemm', 'Softmax', 'LogSoftmax', 'LayerNormalization',
  'ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceSum', 'ReduceProd', 'Max', 'Min', 'Clip', 'Conv', 'Resize',
  'LeakyRelu', 'Elu', 'Selu', 'Gelu', 'HardSigmoid', 'Softplus', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos',
  'Pad', 'CumSum', 'Split', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'InstanceNormalization',
  'BatchNormalization', 'Range', 'GatherND', 'GatherElements', 'ReduceSumSquare', 'ReduceL2', 'CumSum', 'Trilu',
  'ScatterND', 'DepthToSpace', 'SpaceToDepth', 'Mod',
]);

/** Ops that produce bool. */
const BOOL_OUT = new Set(['Not', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'IsNaN', 'IsInf']);

/**
 * Element type of a node's first output, for the ops FlowSeg's exporters use (default
 * domain only); `undefined` when unknown. Exporters rely on it to pick bool vs float mask
 * handling for values they did not create themselves.
 */
export function inferOutputDType(
  opType: string,
  inputTypes: readonly (OnnxElementType | undefined)[],
  castTo: OnnxElementType | undefined,
): OnnxElementType | undefined {
  if (opType === 'Cast') return castTo;
  if (opType === 'Shape' || opType === 'Size' || opType === 'ArgMax' || opType === 'ArgMin') return 'int64';
  if (BOOL_OUT.has(opType)) return 'bool';
  if (opType === 'Where') return inputTypes[1] ?? inputTypes[2];
  if (SAME_AS_FIRST.has(opType)) return inputTypes[0];
  return undefined;
}
