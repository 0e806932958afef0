// Builds one-node ONNX models from bytes, so the onnxruntime peers need no model files and no
// protobuf package. Only the handful of protobuf fields a one-node graph uses are encoded.
//
// Wire format recap (protobuf): every field is a varint key (fieldNumber << 3 | wireType) followed
// by its value. Wire type 0 = varint (ints, enums), 2 = length-delimited (strings, bytes, nested
// messages), 5 = 32-bit (float). Field numbers below come from onnx/onnx.proto (IR version 7).

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** TensorProto.DataType values used here. */
export const ElemType = { FLOAT: 1, INT32: 6, INT64: 7 };

/** AttributeProto.AttributeType values used here. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte list; `bytes()` returns the encoded message. */
class ProtoWriter {
  constructor() {
    this.parts = [];
  }

  // Varints carry 7 bits per byte, low bits first. BigInt keeps negative int64 values exact
  // (protobuf encodes them as 10-byte two's complement varints).
  varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    const out = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.parts.push(Uint8Array.from(out));
    return this;
  }

  key(field, wireType) {
    return this.varint((field << 3) | wireType);
  }

  int(field, value) {
    return this.key(field, WIRE_VARINT).varint(value);
  }

  float(field, value) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, WIRE_FIXED32);
    this.parts.push(b);
    return this;
  }

  bytesField(field, bytes) {
    this.key(field, WIRE_LEN).varint(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  string(field, text) {
    return this.bytesField(field, utf8.encode(text));
  }

  message(field, writer) {
    return this.bytesField(field, writer.bytes());
  }

  bytes() {
    let n = 0;
    for (const p of this.parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// TensorShapeProto { repeated Dimension dim = 1 }; Dimension { int64 dim_value = 1; string dim_param = 2 }.
// A string dimension is symbolic, so one model serves every rows x classes workload.
function shapeProto(dims) {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'string') dim.string(2, d);
    else dim.int(1, d);
    shape.message(1, dim);
  }
  return shape;
}

// ValueInfoProto { string name = 1; TypeProto type = 2 }
// TypeProto { Tensor tensor_type = 1 }; TypeProto.Tensor { int32 elem_type = 1; TensorShapeProto shape = 2 }
function valueInfo(name, elemType, dims) {
  const tensor = new ProtoWriter().int(1, elemType).message(2, shapeProto(dims));
  const type = new ProtoWriter().message(1, tensor);
  return new ProtoWriter().string(1, name).message(2, type);
}

// AttributeProto { string name = 1; float f = 2; int64 i = 3; bytes s = 4; repeated int64 ints = 8;
//                  AttributeType type = 20 }
function attribute(name, value) {
  const a = new ProtoWriter().string(1, name);
  if (typeof value === 'string') a.bytesField(4, utf8.encode(value)).int(20, AttrType.STRING);
  else if (Array.isArray(value)) {
    for (const v of value) a.int(8, v); // unpacked repeated int64: accepted by every protobuf parser
    a.int(20, AttrType.INTS);
  } else if (Number.isInteger(value)) a.int(3, value).int(20, AttrType.INT);
  else a.float(2, value).int(20, AttrType.FLOAT);
  return a;
}

/**
 * Encodes a ModelProto holding one node.
 * @param {object} spec
 * @param {string} spec.opType           e.g. 'Softmax'
 * @param {Array<{name:string, elemType:number, dims:(number|string)[]}>} spec.inputs
 * @param {Array<{name:string, elemType:number, dims:(number|string)[]}>} spec.outputs
 * @param {Record<string, number|number[]|string>} [spec.attributes]
 * @param {number} [spec.opset]          default-domain opset version (13 covers every op used here)
 * @returns {Uint8Array}
 */
export function oneNodeModel({ opType, inputs, outputs, attributes = {}, opset = 13 }) {
  // NodeProto { repeated string input = 1; repeated string output = 2; string name = 3;
  //             string op_type = 4; repeated AttributeProto attribute = 5 }
  const node = new ProtoWriter();
  for (const i of inputs) node.string(1, i.name);
  for (const o of outputs) node.string(2, o.name);
  node.string(3, `${opType}_0`).string(4, opType);
  for (const [name, value] of Object.entries(attributes)) node.message(5, attribute(name, value));

  // GraphProto { repeated NodeProto node = 1; string name = 2; repeated ValueInfoProto input = 11;
  //              repeated ValueInfoProto output = 12 }
  const graph = new ProtoWriter().message(1, node).string(2, `logitkit_bench_${opType}`);
  for (const i of inputs) graph.message(11, valueInfo(i.name, i.elemType, i.dims));
  for (const o of outputs) graph.message(12, valueInfo(o.name, o.elemType, o.dims));

  // OperatorSetIdProto { string domain = 1; int64 version = 2 }; the empty domain is ai.onnx.
  const opsetId = new ProtoWriter().string(1, '').int(2, opset);

  // ModelProto { int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7;
  //              repeated OperatorSetIdProto opset_import = 8 }
  return new ProtoWriter().int(1, 7).string(2, 'logitkit-bench').message(7, graph).message(8, opsetId).bytes();
}

const logits = { name: 'x', elemType: ElemType.FLOAT, dims: ['rows', 'classes'] };

/** The four one-node graphs the onnxruntime peers run, keyed by bench op name. */
export function benchModels() {
  return {
    softmax: oneNodeModel({
      opType: 'Softmax',
      inputs: [logits],
      outputs: [{ name: 'y', elemType: ElemType.FLOAT, dims: ['rows', 'classes'] }],
      attributes: { axis: -1 },
    }),
    logSoftmax: oneNodeModel({
      opType: 'LogSoftmax',
      inputs: [logits],
      outputs: [{ name: 'y', elemType: ElemType.FLOAT, dims: ['rows', 'classes'] }],
      attributes: { axis: -1 },
    }),
    // Opset 13 still takes `axes` as an attribute (opset 18 moved it to an input).
    logsumexp: oneNodeModel({
      opType: 'ReduceLogSumExp',
      inputs: [logits],
      outputs: [{ name: 'y', elemType: ElemType.FLOAT, dims: ['rows'] }],
      attributes: { axes: [-1], keepdims: 0 },
    }),
    crossEntropy: oneNodeModel({
      opType: 'SoftmaxCrossEntropyLoss',
      inputs: [logits, { name: 'target', elemType: ElemType.INT32, dims: ['rows'] }],
      outputs: [{ name: 'y', elemType: ElemType.FLOAT, dims: ['rows'] }],
      attributes: { reduction: 'none' },
    }),
  };
}
