// Checks Kubernetes manifests against the models of their kinds, for
// tests/deploy/test_manifest_schemas.py.
//
//   node validate.mjs < manifests.json
//
// Input: a JSON array of {"id": string, "doc": manifest}. Output: a JSON object
// mapping each id to its errors, [] when the manifest passes; each error is
// {"check", "path", "message"}. The checks, all from the pinned kubernetes-models
// packages (package.json, package-lock.json):
//
// - "schema": the model's validate(), ajv code compiled from the kind's OpenAPI
//   schema (types, enums, patterns, required fields, formats). Those schemas are
//   open: an unknown field passes them.
// - "types": `const m: IKind = <manifest>` compiled by TypeScript (--strict):
//   wrong types, values outside an enum, and excess properties.
// - "fields": every object of the manifest against the fields of its type in
//   that program. The model's types are closed, so an unknown field is refused,
//   as the API server's strict field validation refuses it, also where
//   TypeScript's excess-property check does not look (inside union members).
//   Fields the CRD leaves open (x-kubernetes-preserve-unknown-fields: WasmPlugin
//   pluginConfig, the Wasm config of an EnvoyExtensionPolicy, EnvoyFilter patch
//   values) are typed `{}` there, and string maps have index signatures: both
//   take any field.
// - "metadata": name and namespace are RFC 1123 names, as the API server wants.
//
// A manifest whose apiVersion and kind have no model fails ("model").

import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAX_MESSAGE = 400;
const MAX_VALUE = 80;
// The API server's own checks of metadata (RFC 1123 names), which the models leave out.
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// API group -> the package holding its models; the core group ("v1") is kubernetes-models'.
const PACKAGES = {
  "": "kubernetes-models",
  "networking.istio.io": "@kubernetes-models/istio",
  "extensions.istio.io": "@kubernetes-models/istio",
  "security.istio.io": "@kubernetes-models/istio",
  "telemetry.istio.io": "@kubernetes-models/istio",
  "gateway.envoyproxy.io": "@kubernetes-models/envoy-gateway",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

function modulePath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const match = /^(?:([a-z0-9.-]+)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/.exec(apiVersion);
  if (!match || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null;
  const [, group = "", version] = match;
  const pkg = PACKAGES[group];
  if (!pkg) return null;
  return group ? `${pkg}/${group}/${version}/${kind}` : `${pkg}/${version}/${kind}`;
}

// The model class of a manifest's kind, or null. A module of the same name that
// is not a kind (e.g. BackendSpec) has no static apiVersion/kind matching the manifest's.
async function modelOf(doc) {
  const specifier = modulePath(doc.apiVersion, doc.kind);
  if (!specifier) return null;
  let module;
  try {
    module = await import(specifier);
  } catch (error) {
    if (error?.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || error?.code === "ERR_MODULE_NOT_FOUND") return null;
    throw error;
  }
  const model = module[doc.kind];
  if (model?.apiVersion !== doc.apiVersion || model?.kind !== doc.kind) return null;
  return { model, specifier };
}

const dotted = (instancePath) => instancePath.split("/").slice(1).join(".");

function valueAt(doc, instancePath) {
  return instancePath.split("/").slice(1).reduce((node, key) => (node == null ? node : node[key]), doc);
}

function shown(value) {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}...` : text;
}

function schemaErrors(model, doc) {
  try {
    new model(doc).validate();
    return [];
  } catch (error) {
    if (!Array.isArray(error?.errors)) throw error;
    return error.errors.map((e) => ({
      check: "schema",
      path: dotted(e.instancePath),
      message: `${e.message ?? e.keyword} ${JSON.stringify(e.params)} (got ${shown(valueAt(doc, e.instancePath))})`,
    }));
  }
}

function metadataErrors(doc) {
  const meta = doc.metadata;
  const error = (where, message) => [{ check: "metadata", path: where, message }];
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) return error("metadata", "metadata is required");
  if (meta.name === undefined && meta.generateName === undefined) return error("metadata.name", "name is required");
  if (meta.name !== undefined && !DNS_SUBDOMAIN.test(meta.name)) {
    return error("metadata.name", `not a lowercase RFC 1123 subdomain (got ${shown(meta.name)})`);
  }
  if (meta.namespace !== undefined && !DNS_LABEL.test(meta.namespace)) {
    return error("metadata.namespace", `not a lowercase RFC 1123 label (got ${shown(meta.namespace)})`);
  }
  return [];
}

// The JSON path of the literal at `position` in a checked file.
function pathAt(sourceFile, position) {
  let node = sourceFile;
  for (;;) {
    const child = node.getChildren(sourceFile).find((c) => c.getStart(sourceFile) <= position && position < c.getEnd());
    if (!child) break;
    node = child;
  }
  const parts = [];
  for (; node && !ts.isVariableDeclaration(node); node = node.parent) {
    const parent = node.parent;
    if (parent && ts.isPropertyAssignment(parent) && parent.initializer === node) parts.push(parent.name.text);
    if (parent && ts.isPropertyAssignment(node) && parts.length === 0) parts.push(node.name.text);
    if (parent && ts.isArrayLiteralExpression(parent)) parts.push(String(parent.elements.indexOf(node)));
  }
  return parts.reverse().join(".");
}

// One TypeScript program for all manifests: file i is `const m: IKind = <manifest i>`.
function typeErrors(checked) {
  const files = new Map();
  checked.forEach(({ doc, specifier }, i) => {
    const text = `import type { I${doc.kind} as Kind } from ${JSON.stringify(specifier)};\n`
      + `const m: Kind = ${JSON.stringify(doc, null, 1)};\nexport { m };\n`;
    files.set(path.join(HERE, "__manifests__", `m${i}.ts`), text);
  });
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ["lib.es2022.d.ts"],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    files.has(name) ? ts.createSourceFile(name, files.get(name), language, true) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  const program = ts.createProgram([...files.keys()], options, host);
  const checker = program.getTypeChecker();
  return [...files.keys()].map((name) => {
    const sourceFile = program.getSourceFile(name);
    const diagnostics = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
    return [
      ...unknownFields(checker, sourceFile),
      ...diagnostics.map((d) => ({
        check: "types",
        path: d.start === undefined ? "" : pathAt(sourceFile, d.start),
        message: ts.flattenDiagnosticMessageText(d.messageText, " ").slice(0, MAX_MESSAGE),
      })),
    ];
  });
}

// The field names an object of this type may have, or null when it takes any
// (any, unknown, `{}`, an index signature). A union takes the fields of all its
// members, as a structural schema lists the fields of all its oneOf branches.
function knownFields(checker, type) {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return null;
  if (type.isUnion()) {
    const names = new Set();
    for (const member of type.types) {
      if (member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) continue;
      const fields = knownFields(checker, member);
      if (fields === null) return null;
      fields.forEach((field) => names.add(field));
    }
    return names;
  }
  if (checker.getIndexInfosOfType(type).length > 0) return null;
  const properties = checker.getPropertiesOfType(type);
  return properties.length === 0 ? null : new Set(properties.map((p) => p.getName()));
}

// Fields of the manifest's objects that their contextual type lacks. TypeScript's
// own excess-property check skips object literals nested in union members (an
// Istio AuthorizationPolicy's rules, for one); this walk does not.
function unknownFields(checker, sourceFile) {
  const errors = [];
  const visit = (node) => {
    if (ts.isObjectLiteralExpression(node)) {
      const type = checker.getContextualType(node);
      const fields = type ? knownFields(checker, type) : null;
      for (const property of fields ? node.properties : []) {
        const field = property.name?.text;
        if (field !== undefined && !fields.has(field)) {
          errors.push({ check: "fields", path: pathAt(sourceFile, property.getStart(sourceFile)),
                        message: `unknown field ${JSON.stringify(field)}` });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return errors;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const manifests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const results = {};
  const checked = [];
  for (const { id, doc } of manifests) {
    const found = doc && typeof doc === "object" ? await modelOf(doc) : null;
    if (!found) {
      const what = `${doc?.apiVersion} ${doc?.kind}`;
      results[id] = [{ check: "model", path: "", message: `no model for ${what} in the pinned kubernetes-models packages` }];
      continue;
    }
    results[id] = [...metadataErrors(doc), ...schemaErrors(found.model, doc)];
    checked.push({ id, doc, specifier: found.specifier });
  }
  typeErrors(checked).forEach((errors, i) => results[checked[i].id].push(...errors));
  process.stdout.write(JSON.stringify(results));
}

await main();
