// index_random.test.js — gather, scatter_add, embedding, iota (src/kernels/index_ops.js) and
// random_uniform, dropout, threefry2x32 (src/kernels/random.js) through the registry.
// Expected values come from the numpy reference (python/jag/ops/core.py, composite.py),
// computed in the repository's venv and pasted as literals; random outputs are bit-exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import "../src/kernels/index_ops.js";
import { threefry2x32 } from "../src/kernels/random.js";
import { ARRAY_TYPES, zeros } from "../src/dtypes.js";
import { kernelFor } from "../src/registry.js";
import { OPS, TOLERANCE_CLASSES } from "../src/ops_table.js";

import { T, runOp, assertTensor, runCases } from "./harness.js";

// ---------------------------------------------------------------- hand-written checks

test("threefry2x32: the spec's known-answer vectors (spec/README.md §11)", () => {
  assert.deepEqual(threefry2x32(0, 0, 0, 0), [0x6b200159, 0x99ba4efe]);
  assert.deepEqual(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), [0x1cb996fc, 0xbb002be7]);
  assert.deepEqual(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3), [0xc4923a9c, 0x483df7a0]);
});

test("random_uniform: the spec's worked example (key 0)", () => {
  const y = runOp("random_uniform", [T("int64", [], [0n])], { shape: [2], dtype: "float64" });
  assert.deepEqual([...y.data], [0.41845711171638655, 0.3146817192326744]);
  const z = runOp("random_uniform", [T("int64", [], [0n])], { shape: [1] });
  assert.equal(z.data[0], 0.4184570908546448);
});

test("random_uniform: in [0, 1) and a prefix of a longer draw", () => {
  const key = T("int64", [], [-123456789012345n]);
  const a = runOp("random_uniform", [key], { shape: [1000], dtype: "float64" }).data;
  const b = runOp("random_uniform", [key], { shape: [10, 10], dtype: "float64" }).data;
  for (const v of a) assert.ok(v >= 0 && v < 1);
  assert.deepEqual([...b], [...a.subarray(0, 100)]);
});

function indexError(op, inputs, attrs) {
  try {
    runOp(op, inputs, attrs);
  } catch (e) {
    assert.equal(e.code, "E_INDEX");
    return e.detail;
  }
  assert.fail("no error");
}

test("E_INDEX names the smallest index when it is too small, else the largest (as core.py check_indices)", () => {
  const x = T("float32", [4, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(indexError("gather", [x, T("int64", [3], [-9n, 7n, 5n])], { axis: 0 }), "index -9 is out of range for axis 0 of size 4");
  assert.equal(indexError("gather", [x, T("int32", [3], [5, 9, -4])], { axis: 0 }), "index 9 is out of range for axis 0 of size 4");
  assert.equal(indexError("gather", [x, T("int64", [1], [2n ** 62n])], { axis: -1 }), "index 4611686018427387904 is out of range for axis 1 of size 2");
  assert.equal(indexError("gather", [T("float32", [0, 2], []), T("int32", [1], [0])], { axis: 0 }), "index 0 is out of range for axis 0 of size 0");
  assert.equal(indexError("embedding", [T("int32", [2], [1, -5]), T("float64", [4, 1], [1, 2, 3, 4])], {}), "index -5 is out of range for axis 0 of size 4");
  assert.equal(indexError("scatter_add", [T("int32", [3], [0, 0, 0]), T("int64", [2], [3n, 0n]), T("int32", [2], [1, 1])], {}), "index 3 is out of range for axis 0 of size 3");
});

test("E_INDEX is checked even when the output is empty", () => {
  assert.equal(indexError("gather", [T("float32", [3, 0], []), T("int32", [1], [3])], { axis: 0 }), "index 3 is out of range for axis 0 of size 3");
});

// ---------------------------------------------------------------- cases from the numpy reference
const CASES = [
  { name: "gather float32 axis 0 int32", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int32", [4], [3, 0, -1, 0])], attrs: {axis: 0}, want: T("float32", [4, 3], [0.125, 7.0, 8.0, 1.5, -0, NaN, 0.125, 7.0, 8.0, 1.5, -0, NaN]) },
  { name: "gather float32 axis 1 int64 2-D indices", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int64", [2, 2], [2n, -3n, 1n, 1n])], attrs: {axis: 1}, want: T("float32", [4, 2, 2], [NaN, 1.5, -0, -0, 2.25, Infinity, -Infinity, -Infinity, -5.5, 3.0, 4.0, 4.0, 8.0, 0.125, 7.0, 7.0]) },
  { name: "gather float32 axis -1 scalar index", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int64", [], [-1n])], attrs: {axis: -1}, want: T("float32", [4], [NaN, 2.25, -5.5, 8.0]) },
  { name: "gather float64 3-D middle axis", op: "gather", inputs: [T("float64", [2, 3, 4], [0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5]), T("int32", [2], [2, 0])], attrs: {axis: 1}, want: T("float64", [2, 2, 4], [4.0, 4.5, 5.0, 5.5, 0, 0.5, 1.0, 1.5, 10.0, 10.5, 11.0, 11.5, 6.0, 6.5, 7.0, 7.5]) },
  { name: "gather int64 big values", op: "gather", inputs: [T("int64", [3, 2], [1152921504606846977n, -1152921504606846977n, 9223372036854775807n, -9223372036854775808n, 5n, 6n]), T("int64", [3], [1n, 0n, 1n])], attrs: {axis: 0}, want: T("int64", [3, 2], [9223372036854775807n, -9223372036854775808n, 1152921504606846977n, -1152921504606846977n, 9223372036854775807n, -9223372036854775808n]) },
  { name: "gather int32", op: "gather", inputs: [T("int32", [3], [-7, 2147483647, -2147483648]), T("int32", [3], [2, 2, 0])], attrs: {axis: 0}, want: T("int32", [3], [-2147483648, -2147483648, -7]) },
  { name: "gather uint8", op: "gather", inputs: [T("uint8", [2, 2], [255, 1, 2, 3]), T("int64", [1], [-1n])], attrs: {axis: 0}, want: T("uint8", [1, 2], [2, 3]) },
  { name: "gather bool", op: "gather", inputs: [T("bool", [3], [1, 0, 1]), T("int32", [2, 2], [1, 2, 0, 1])], attrs: {axis: 0}, want: T("bool", [2, 2], [0, 1, 1, 0]) },
  { name: "gather empty indices", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int64", [0], [])], attrs: {axis: 0}, want: T("float32", [0, 3], []) },
  { name: "gather from empty axis, no indices", op: "gather", inputs: [T("float32", [0, 2], []), T("int32", [0], [])], attrs: {axis: 0}, want: T("float32", [0, 2], []) },
  { name: "gather zero-size rows", op: "gather", inputs: [T("float32", [3, 0], []), T("int32", [2], [1, 2])], attrs: {axis: 0}, want: T("float32", [2, 0], []) },
  { name: "gather long rows", op: "gather", inputs: [T("float32", [4, 50], [0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0, 128.0, 129.0, 130.0, 131.0, 132.0, 133.0, 134.0, 135.0, 136.0, 137.0, 138.0, 139.0, 140.0, 141.0, 142.0, 143.0, 144.0, 145.0, 146.0, 147.0, 148.0, 149.0, 150.0, 151.0, 152.0, 153.0, 154.0, 155.0, 156.0, 157.0, 158.0, 159.0, 160.0, 161.0, 162.0, 163.0, 164.0, 165.0, 166.0, 167.0, 168.0, 169.0, 170.0, 171.0, 172.0, 173.0, 174.0, 175.0, 176.0, 177.0, 178.0, 179.0, 180.0, 181.0, 182.0, 183.0, 184.0, 185.0, 186.0, 187.0, 188.0, 189.0, 190.0, 191.0, 192.0, 193.0, 194.0, 195.0, 196.0, 197.0, 198.0, 199.0]), T("int32", [2], [3, 1])], attrs: {axis: 0}, want: T("float32", [2, 50], [150.0, 151.0, 152.0, 153.0, 154.0, 155.0, 156.0, 157.0, 158.0, 159.0, 160.0, 161.0, 162.0, 163.0, 164.0, 165.0, 166.0, 167.0, 168.0, 169.0, 170.0, 171.0, 172.0, 173.0, 174.0, 175.0, 176.0, 177.0, 178.0, 179.0, 180.0, 181.0, 182.0, 183.0, 184.0, 185.0, 186.0, 187.0, 188.0, 189.0, 190.0, 191.0, 192.0, 193.0, 194.0, 195.0, 196.0, 197.0, 198.0, 199.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0]) },
  { name: "gather scalar x", op: "gather", inputs: [T("float32", [], [1.0]), T("int32", [1], [0])], attrs: {axis: 0}, throws: "E_SHAPE" },
  { name: "gather axis out of range", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int32", [1], [0])], attrs: {axis: 2}, throws: "E_ATTR" },
  { name: "gather index too large", op: "gather", inputs: [T("float32", [4, 3], [1.5, -0, NaN, Infinity, -Infinity, 2.25, 3.0, 4.0, -5.5, 0.125, 7.0, 8.0]), T("int64", [2], [0n, 4n])], attrs: {axis: 0}, throws: "E_INDEX" },
  { name: "scatter_add float32 repeated", op: "scatter_add", inputs: [T("float32", [3, 2], [0, 0, 0, 0, 0, 0]), T("int64", [4], [0n, 2n, 0n, -1n]), T("float32", [4, 2], [1.0, 2.0, 3.0, 4.0, 0.5, NaN, -1.0, 1e+30])], attrs: {axis: 0}, want: T("float32", [3, 2], [1.5, NaN, 0, 0, 2.0, 1e+30]) },
  { name: "scatter_add float64 axis 1", op: "scatter_add", inputs: [T("float64", [2, 3], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), T("int32", [2], [2, 2]), T("float64", [2, 2], [0.1, 0.2, 0.3, 0.4])], attrs: {axis: 1}, want: T("float64", [2, 3], [1.0, 1.0, 1.3, 1.0, 1.0, 1.7000000000000002]) },
  { name: "scatter_add int32 wraps", op: "scatter_add", inputs: [T("int32", [3], [2147483647, -2147483648, 0]), T("int32", [3], [0, 1, 1]), T("int32", [3], [1, -1, -1])], attrs: {axis: 0}, want: T("int32", [3], [-2147483648, 2147483646, 0]) },
  { name: "scatter_add uint8 wraps", op: "scatter_add", inputs: [T("uint8", [2], [250, 3]), T("int64", [3], [0n, 0n, 1n]), T("uint8", [3], [3, 10, 255])], attrs: {axis: 0}, want: T("uint8", [2], [7, 2]) },
  { name: "scatter_add int64 wraps", op: "scatter_add", inputs: [T("int64", [2], [9223372036854775807n, 1152921504606846977n]), T("int64", [3], [0n, 1n, 1n]), T("int64", [3], [1n, 1152921504606846977n, -3n])], attrs: {axis: 0}, want: T("int64", [2], [-9223372036854775808n, 2305843009213693951n]) },
  { name: "scatter_add 2-D indices", op: "scatter_add", inputs: [T("float32", [2, 3], [0, 0, 0, 0, 0, 0]), T("int64", [2, 2], [0n, 1n, 1n, 1n]), T("float32", [2, 2, 2], [0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])], attrs: {axis: 1}, want: T("float32", [2, 3], [0, 6.0, 0, 4.0, 18.0, 0]) },
  { name: "scatter_add no updates", op: "scatter_add", inputs: [T("float32", [2, 2], [1.0, 1.0, 1.0, 1.0]), T("int32", [0], []), T("float32", [0, 2], [])], attrs: {axis: 0}, want: T("float32", [2, 2], [1.0, 1.0, 1.0, 1.0]) },
  { name: "scatter_add updates shape", op: "scatter_add", inputs: [T("float32", [3, 2], [0, 0, 0, 0, 0, 0]), T("int64", [2], [0n, 1n]), T("float32", [2, 3], [0, 0, 0, 0, 0, 0])], attrs: {axis: 0}, throws: "E_SHAPE" },
  { name: "scatter_add axis", op: "scatter_add", inputs: [T("float32", [3, 2], [0, 0, 0, 0, 0, 0]), T("int64", [2], [0n, 1n]), T("float32", [2, 2], [0, 0, 0, 0])], attrs: {axis: 2}, throws: "E_ATTR" },
  { name: "scatter_add index out of range", op: "scatter_add", inputs: [T("float32", [3, 2], [0, 0, 0, 0, 0, 0]), T("int64", [2], [0n, -4n]), T("float32", [2, 2], [0, 0, 0, 0])], attrs: {axis: 0}, throws: "E_INDEX" },
  { name: "embedding float32 int32", op: "embedding", inputs: [T("int32", [3], [2, 0, -1]), T("float32", [3, 3], [0.5, -1.0, NaN, 2.0, -0, Infinity, 3.5, 4.5, 5.5])], attrs: {}, want: T("float32", [3, 3], [3.5, 4.5, 5.5, 0.5, -1.0, NaN, 3.5, 4.5, 5.5]) },
  { name: "embedding float64 int64 2-D", op: "embedding", inputs: [T("int64", [2, 2], [1n, 1n, 0n, -3n]), T("float64", [3, 3], [0.5, -1.0, NaN, 2.0, -0, Infinity, 3.5, 4.5, 5.5])], attrs: {}, want: T("float64", [2, 2, 3], [2.0, -0, Infinity, 2.0, -0, Infinity, 0.5, -1.0, NaN, 0.5, -1.0, NaN]) },
  { name: "embedding scalar index", op: "embedding", inputs: [T("int64", [], [1n]), T("float32", [3, 3], [0.5, -1.0, NaN, 2.0, -0, Infinity, 3.5, 4.5, 5.5])], attrs: {}, want: T("float32", [3], [2.0, -0, Infinity]) },
  { name: "embedding empty", op: "embedding", inputs: [T("int32", [0, 2], []), T("float32", [3, 3], [0.5, -1.0, NaN, 2.0, -0, Infinity, 3.5, 4.5, 5.5])], attrs: {}, want: T("float32", [0, 2, 3], []) },
  { name: "embedding weight rank", op: "embedding", inputs: [T("int32", [1], [0]), T("float32", [3], [0, 0, 0])], attrs: {}, throws: "E_SHAPE" },
  { name: "embedding index out of range", op: "embedding", inputs: [T("int32", [2], [0, 3]), T("float32", [3, 3], [0.5, -1.0, NaN, 2.0, -0, Infinity, 3.5, 4.5, 5.5])], attrs: {}, throws: "E_INDEX" },
  { name: "iota int64 default", op: "iota", inputs: [], attrs: {shape: [2, 3], axis: 1}, want: T("int64", [2, 3], [0n, 1n, 2n, 0n, 1n, 2n]) },
  { name: "iota int32 axis 0", op: "iota", inputs: [], attrs: {shape: [3, 2], axis: 0, dtype: "int32"}, want: T("int32", [3, 2], [0, 0, 1, 1, 2, 2]) },
  { name: "iota uint8 wraps past 255", op: "iota", inputs: [], attrs: {shape: [300], axis: 0, dtype: "uint8"}, want: T("uint8", [300], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43]) },
  { name: "iota float32 axis -1", op: "iota", inputs: [], attrs: {shape: [2, 1, 4], axis: -1, dtype: "float32"}, want: T("float32", [2, 1, 4], [0, 1.0, 2.0, 3.0, 0, 1.0, 2.0, 3.0]) },
  { name: "iota float64 middle axis", op: "iota", inputs: [], attrs: {shape: [2, 3, 2], axis: 1, dtype: "float64"}, want: T("float64", [2, 3, 2], [0, 0, 1.0, 1.0, 2.0, 2.0, 0, 0, 1.0, 1.0, 2.0, 2.0]) },
  { name: "iota zero-size", op: "iota", inputs: [], attrs: {shape: [0, 3], axis: 1}, want: T("int64", [0, 3], []) },
  { name: "iota negative dim", op: "iota", inputs: [], attrs: {shape: [2, -1], axis: 0}, throws: "E_SHAPE" },
  { name: "iota rank 0", op: "iota", inputs: [], attrs: {shape: [], axis: 0}, throws: "E_ATTR" },
  { name: "iota axis out of range", op: "iota", inputs: [], attrs: {shape: [2, 3], axis: 2}, throws: "E_ATTR" },
  { name: "random_uniform key 0 float64", op: "random_uniform", inputs: [T("int64", [], [0n])], attrs: {shape: [2], dtype: "float64"}, want: T("float64", [2], [0.41845711171638655, 0.3146817192326744]) },
  { name: "random_uniform key 0 float32 [3,5]", op: "random_uniform", inputs: [T("int64", [], [0n])], attrs: {shape: [3, 5]}, want: T("float32", [3, 5], [0.4184571, 0.3146817, 0.39316022, 0.72137094, 0.6735498, 0.33694267, 0.64544845, 0.15026295, 0.17590547, 0.1762641, 0.2054382, 0.38234937, 0.10272032, 0.72266006, 0.25042063]) },
  { name: "random_uniform key -1 float64", op: "random_uniform", inputs: [T("int64", [], [-1n])], attrs: {shape: [2, 3], dtype: "float64"}, want: T("float64", [2, 3], [0.25478325884464315, 0.6246777404926821, 0.14056393097268893, 0.3177246210667922, 0.5836964305046759, 0.18253964996526995]) },
  { name: "random_uniform key 2^40+7 float32", op: "random_uniform", inputs: [T("int64", [], [1099511627783n])], attrs: {shape: [4]}, want: T("float32", [4], [0.64625996, 0.08054978, 0.6719239, 0.16879529]) },
  { name: "random_uniform key -2^63 float64", op: "random_uniform", inputs: [T("int64", [], [-9223372036854775808n])], attrs: {shape: [3], dtype: "float64"}, want: T("float64", [3], [0.86722548221455, 0.739155154042706, 0.027006808472942456]) },
  { name: "random_uniform key big float32 scalar", op: "random_uniform", inputs: [T("int64", [], [1152921504606846977n])], attrs: {shape: []}, want: T("float32", [], [0.40188587]) },
  { name: "random_uniform zero-size", op: "random_uniform", inputs: [T("int64", [], [5n])], attrs: {shape: [0, 4], dtype: "float64"}, want: T("float64", [0, 4], []) },
  { name: "random_uniform key not scalar", op: "random_uniform", inputs: [T("int64", [1], [0n])], attrs: {shape: [2]}, throws: "E_SHAPE" },
  { name: "random_uniform negative dim", op: "random_uniform", inputs: [T("int64", [], [0n])], attrs: {shape: [2, -1]}, throws: "E_SHAPE" },
  { name: "dropout float32 p 0.5", op: "dropout", inputs: [T("float32", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]), T("int64", [], [0n])], attrs: {p: 0.5}, want: T("float32", [2, 4], [0, 0, 0, NaN, -0, 0, 1.0, 0]) },
  { name: "dropout float32 p 0.3 key -1", op: "dropout", inputs: [T("float32", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]), T("int64", [], [-1n])], attrs: {p: 0.3}, want: T("float32", [2, 4], [0, -2.857143, 0, NaN, -0, 0, 0.71428573, 0]) },
  { name: "dropout float64 p 0.25", op: "dropout", inputs: [T("float64", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]), T("int64", [], [42n])], attrs: {p: 0.25}, want: T("float64", [2, 4], [1.3333333333333333, 0, 0, NaN, -0, Infinity, 0.6666666666666666, 9.333333333333332]) },
  { name: "dropout float64 p 0", op: "dropout", inputs: [T("float64", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]), T("int64", [], [42n])], attrs: {p: 0.0}, want: T("float64", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]) },
  { name: "dropout float32 default p", op: "dropout", inputs: [T("float32", [10], [0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]), T("int64", [], [1152921504606846977n])], attrs: {}, want: T("float32", [10], [0, 0, 0, 6.0, 8.0, 10.0, 0, 14.0, 16.0, 0]) },
  { name: "dropout scalar", op: "dropout", inputs: [T("float32", [], [3.0]), T("int64", [], [7n])], attrs: {p: 0.1}, want: T("float32", [], [3.3333335]) },
  { name: "dropout key not scalar", op: "dropout", inputs: [T("float32", [2, 4], [1.0, -2.0, 3.0, NaN, -0, Infinity, 0.5, 7.0]), T("int64", [1], [0n])], attrs: {p: 0.5}, throws: "E_SHAPE" },
];

runCases(CASES);
