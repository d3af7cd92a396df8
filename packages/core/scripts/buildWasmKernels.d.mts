/** Path of the generated module (src/backend/wasm/generated/kernelsWasm.ts). */
export declare const GENERATED: string;
/** The generated module's text for the current assembly/kernels.ts (compiles both variants). */
export declare function generatedText(): Promise<string>;
