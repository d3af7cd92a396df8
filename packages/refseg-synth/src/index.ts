/**
 * `@flowseg/refseg-synth`: a seeded synthetic referring-segmentation benchmark. Scenes of
 * coloured shapes with exact visible instance masks; attribute, relational, reasoning,
 * multi-target and empty-target expressions with `<p> … </p>` / `<SEG>` answers; scene
 * descriptions; fixed splits; an independent expression evaluator. Pure TypeScript with typed
 * arrays — no TensorFlow.js. PNG/JSON export lives in `@flowseg/refseg-synth/node`.
 * @packageDocumentation
 * @module @flowseg/refseg-synth
 */
export { SynthValueError } from './errors.js';
export { Prng, hashSeed } from './random/Prng.js';
export { DEFAULT_SYNTH_OPTIONS, resolveOptions, comparisonMargins } from './options.js';
export type { SynthOptions, ResolvedSynthOptions, ComparisonMargins } from './options.js';
export { SHAPES, SHAPE_CORNERS, COLORS, COLOR_RGB, SIZES, sameAttributes } from './scene/attributes.js';
export type { ShapeName, ColorName, SizeName, ObjectAttributes } from './scene/attributes.js';
export { STAR_INNER_RATIO, shapeVertices, unitShapeArea, radiusForArea, rasterizeShape } from './scene/geometry.js';
export type { ShapeGeometry } from './scene/geometry.js';
export type { BackgroundSpec } from './scene/background.js';
export type { Scene, SceneObject } from './scene/Scene.js';
export { describeScene, positionPhrase } from './scene/describeScene.js';
export type {
  AttributeFilter,
  SpatialRelation,
  Measure,
  FilterRef,
  RelationRef,
  ExtremeRef,
  ComparativeRef,
  SameAsRef,
  RefExpr,
  Expression,
} from './expression/Expression.js';
export { renderExpression, renderRef, nounPhrase, CORNER_WORDS } from './expression/renderExpression.js';
export { evaluateExpression, matchesFilter } from './expression/evaluateExpression.js';
export type { Evaluation } from './expression/evaluateExpression.js';
export { FAMILIES } from './generator/families.js';
export type { Family } from './generator/families.js';
export { NO_MATCH_ANSWER, PROMPT_VERBS, formatAnswer } from './generator/answer.js';
export { generateReferringSample } from './generator/generateReferringSample.js';
export type { ReferringSample, SegTarget } from './generator/generateReferringSample.js';
export { SPECIAL_TOKENS, VOCABULARY_WORDS, VOCABULARY, tokenizeWords } from './text/vocabulary.js';
export {
  SPLITS,
  DEFAULT_SPLIT_SIZES,
  SEED_NAMESPACE,
  sampleSeed,
  generateSample,
  iterateDataset,
  dataset,
  generateScene,
  sceneDataset,
} from './dataset.js';
export type { Split, RefSegSample, DatasetRange, SceneSample } from './dataset.js';
