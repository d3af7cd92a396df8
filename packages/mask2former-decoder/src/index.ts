/**
 * `@flowseg/mask2former-decoder`: A Mask2Former query decoder with pluggable layers, pixel decoder, Hungarian matcher and losses
 * @packageDocumentation
 */
export {};
