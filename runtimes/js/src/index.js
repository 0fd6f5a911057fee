// The JAG JavaScript runtime (browser-safe entry point). Node adds loadModelFromFile in
// ./node.js. See runtimes/js/README.md.
export { loadModel, loadModelFromUrl, Model, FORMAT_VERSION } from "./model.js";
export { JagError } from "./errors.js";
export { ARRAY_TYPES, numel, zeros } from "./dtypes.js";
export { readSafetensors, writeSafetensors } from "./safetensors.js";
export { OPS, OPSET, DTYPES, TOLERANCE_CLASSES } from "./ops_table.js";
export { KERNELS, register } from "./registry.js";
