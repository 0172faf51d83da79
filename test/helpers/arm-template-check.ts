import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv-draft-04';
import addFormats from 'ajv-formats';

/**
 * Checks ARM templates the way the deployment would see them, offline: the envelope against
 * `deploymentTemplate.json`, every resource (nested deployments' templates too) against Azure's
 * published JSON Schema for its type and API version, and every `parameters()`/`variables()`
 * reference against the declarations. The schemas are the files in `test/fixtures/arm-schemas/`
 * (see its SOURCES.md).
 *
 * The published schemas leave most objects open (no `additionalProperties`), and where they do
 * close one it is the base branch of an `allOf`, which plain JSON Schema then applies to that
 * branch alone, rejecting the variant's own properties. So the schemas are tightened in memory
 * first: an object schema with properties accepts no others, and an `allOf` (or properties beside
 * a `oneOf`/`anyOf`) accepts exactly the union of every branch's properties. Every `oneOf` becomes
 * an `anyOf`: a template expression matches a plain string branch as well as the expression one,
 * and a variant picked by an expression-valued discriminator (`name: "[format('{0}/ftp', …)]"`)
 * matches every variant's pattern.
 */

type Schema = { [key: string]: any };

const COMMON_ID = 'https://schema.management.azure.com/schemas/common/definitions.json';
const EXPRESSION_REF = `${COMMON_ID}#/definitions/expression`;
const TEMPLATE_ID = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json';
const PARAMETERS_ID = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json';
/** What a template may say about any resource besides its provider's properties (`condition`, `dependsOn`, `copy`, `scope`…). */
const RESOURCE_BASE_REF = `${TEMPLATE_ID}#/definitions/resourceBase`;
const RESOURCE_DEFINITION_SETS = ['resourceDefinitions', 'unknown_resourceDefinitions', 'extension_resourceDefinitions'];

/**
 * Where the published schema is behind what Azure accepts, each gap filled in memory, narrowly,
 * with the reason. `present` says how to tell that a newer schema has caught up (then the patch
 * must go: the test fails on a patch that patches nothing).
 */
export const SCHEMA_PATCHES: Array<{ file: string; pointer: string[]; value: Schema; why: string }> = [
  {
    file: '2017-07-01_Microsoft.Logic.json',
    pointer: ['resourceDefinitions', 'workflows', 'properties', 'identity'],
    value: {
      type: 'object',
      properties: {
        type: { enum: ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'] },
        userAssignedIdentities: { oneOf: [{ type: 'object', additionalProperties: { type: 'object' } }, { $ref: EXPRESSION_REF }] },
      },
      required: ['type'],
    },
    why: "a Logic App's managed identity: the Logic Apps API accepts it on 2017-07-01 (every Sentinel playbook that authenticates with it does), the schema predates it",
  },
  {
    file: '2016-06-01_Microsoft.Web.json',
    pointer: ['resourceDefinitions', 'connections', 'properties', 'kind'],
    value: { enum: ['V1', 'V2'] },
    why: 'API connections are kind V1 (consumption Logic Apps) or V2; not in the schema',
  },
  {
    file: '2016-06-01_Microsoft.Web.json',
    pointer: ['definitions', 'ApiConnectionDefinitionProperties', 'properties', 'parameterValueType'],
    value: { enum: ['Alternative'] },
    why: "'Alternative' makes the azuresentinel connection authenticate with the Logic App's managed identity; not in the schema",
  },
  {
    file: '2025-09-01_Microsoft.SecurityInsights.json',
    pointer: ['extension_resourceDefinitions', 'automationRules'],
    value: {
      description: 'Microsoft.SecurityInsights/automationRules',
      type: 'object',
      properties: {
        apiVersion: { enum: ['2025-09-01'], type: 'string' },
        etag: { type: 'string' },
        name: { type: 'string' },
        properties: { oneOf: [{ $ref: '#/definitions/AutomationRuleProperties' }, { $ref: EXPRESSION_REF }] },
        type: { enum: ['Microsoft.SecurityInsights/automationRules'], type: 'string' },
      },
      required: ['name', 'properties', 'apiVersion', 'type'],
    },
    why:
      'this file defines the automation rule types (AutomationRuleProperties…) but not the extension resource itself; ' +
      "the wrapper is the one schemas/2025-09-01/Microsoft.SecurityInsights.Stable.json publishes, around this file's own definitions",
  },
];

/** Template-language properties of a nested deployment (where it deploys), which no schema describes. */
const NESTED_DEPLOYMENT_TARGET: Schema = { properties: { resourceGroup: { type: 'string' }, subscriptionId: { type: 'string' } } };

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasProperties = (s: Schema) => isObject(s.properties) && Object.keys(s.properties).length > 0;
const baseOf = (id: string) => id.replace(/#$/, '');

/** An ARM template expression (`[…]`); `[[` escapes a literal bracket. */
export const isExpression = (s: string) => /^\[[^[][\s\S]*\]$/.test(s.trim()) || s.trim() === '[]';

/** The tightened schemas, by file id, and the Ajv instance that knows them all. */
class SchemaSet {
  readonly files = new Map<string, Schema>();
  readonly byFileName = new Map<string, Schema>();
  readonly patchesApplied: string[] = [];
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(dir: string) {
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const schema = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Schema;
      this.byFileName.set(name, schema);
    }
    for (const patch of SCHEMA_PATCHES) {
      const file = this.byFileName.get(patch.file);
      if (!file) throw new Error(`schema patch for ${patch.file}, which is not in ${dir}`);
      let node = file;
      for (const key of patch.pointer.slice(0, -1)) node = node[key] ??= {};
      const last = patch.pointer[patch.pointer.length - 1]!;
      if (node[last] !== undefined) throw new Error(`${patch.file} ${patch.pointer.join('/')} is published now: drop its patch (${patch.why})`);
      node[last] = patch.value;
      this.patchesApplied.push(`${patch.file}#/${patch.pointer.join('/')}`);
    }
    const template = this.byFileName.get('2019-04-01_deploymentTemplate.json');
    if (!template) throw new Error(`no 2019-04-01_deploymentTemplate.json in ${dir}`);
    // Its resource list points at schemas of every provider ever published; each resource is checked on its own instead.
    template.definitions.resource = { type: 'object' };
    for (const schema of this.byFileName.values()) {
      const id = baseOf(String(schema.id ?? ''));
      if (!id) throw new Error('a schema without an id');
      this.files.set(id, anyOfForExpressions(schema));
    }
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateSchema: false });
    addFormats(this.ajv);
    for (const [id, schema] of this.files) this.ajv.addSchema(this.tightenFile(schema, id));
  }

  /** The schema and the file it lives in for a `$ref` seen in file `base`. */
  resolve(ref: string, base: string): { schema: Schema; base: string } | undefined {
    const [uri, pointer = ''] = ref.split('#');
    const fileId = uri ? baseOf(uri) : base;
    let node: unknown = this.files.get(fileId);
    for (const key of pointer.split('/').filter(Boolean)) node = isObject(node) ? node[decodeURIComponent(key)] : undefined;
    return isObject(node) ? { schema: node, base: fileId } : undefined;
  }

  validator(key: string, schema: () => Schema): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(this.tighten(schema(), TEMPLATE_ID));
      this.compiled.set(key, v);
    }
    return v;
  }

  /** The definition of `type` at `apiVersion` (case-insensitive, as ARM is), or undefined when no file has it. */
  resourceDefinition(type: string, apiVersion: string): { ref: string; canonicalType: string } | undefined {
    const [namespace, ...rest] = type.split('/');
    if (!namespace || rest.length === 0) return undefined;
    const key = rest.join('_').toLowerCase();
    for (const [id, file] of this.files) {
      const m = /\/schemas\/([^/]+)\/([^/]+)\.json$/.exec(id);
      if (!m || m[1] !== apiVersion || !m[2]!.toLowerCase().startsWith(namespace.toLowerCase())) continue;
      for (const set of RESOURCE_DEFINITION_SETS) {
        for (const [name, def] of Object.entries((file[set] ?? {}) as Record<string, Schema>)) {
          const types: unknown[] = def.properties?.type?.enum ?? [];
          const canonical = types.find((t) => typeof t === 'string' && t.toLowerCase() === type.toLowerCase());
          if (name.toLowerCase() === key && typeof canonical === 'string') return { ref: `${id}#/${set}/${name}`, canonicalType: canonical };
        }
      }
    }
    return undefined;
  }

  private tightenFile(file: Schema, id: string): Schema {
    const out = this.tighten(file, id);
    for (const [k, v] of Object.entries(file)) {
      if (k === 'definitions' || k.endsWith('resourceDefinitions')) {
        out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([name, s]) => [name, this.tighten(s, id)]));
      }
    }
    return out;
  }

  /** `node` accepting no property its schema does not name (see the module comment). */
  tighten(node: unknown, base: string): any {
    if (!isObject(node) || typeof node.$ref === 'string') return node;
    const out: Schema = { ...node };
    this.tightenChildren(out, base);
    const composite = Array.isArray(node.allOf) || ((Array.isArray(node.oneOf) || Array.isArray(node.anyOf)) && hasProperties(node));
    if (composite) {
      for (const k of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(node[k])) out[k] = node[k].map((b: unknown) => this.loosen(b, base, 0));
      const names = new Set<string>();
      const open = this.collectProperties(node, base, names, new Set());
      if (!open && names.size > 0 && node.additionalProperties === undefined) {
        out.properties = { ...Object.fromEntries([...names].map((n) => [n, {}])), ...out.properties };
        out.additionalProperties = false;
      }
    } else {
      for (const k of ['oneOf', 'anyOf']) if (Array.isArray(node[k])) out[k] = node[k].map((b: unknown) => this.tighten(b, base));
      if (hasProperties(node) && node.additionalProperties === undefined) out.additionalProperties = false;
    }
    return out;
  }

  /** A branch of a composite: its own properties stay checked, the composite decides which names are allowed. */
  private loosen(node: unknown, base: string, depth: number): any {
    if (depth > 25) throw new Error('schema composition nested too deep');
    if (!isObject(node)) return node;
    if (typeof node.$ref === 'string') {
      if (node.$ref === EXPRESSION_REF) return node;
      const target = this.resolve(node.$ref, base);
      if (!target) throw new Error(`unresolved $ref ${node.$ref} in ${base}`);
      return this.loosen(absoluteRefs(target.schema, target.base), target.base, depth + 1);
    }
    const out: Schema = { ...node };
    if (out.additionalProperties === false) delete out.additionalProperties;
    this.tightenChildren(out, base);
    for (const k of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(node[k])) out[k] = node[k].map((b: unknown) => this.loosen(b, base, depth + 1));
    return out;
  }

  private tightenChildren(out: Schema, base: string) {
    if (isObject(out.properties)) out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, this.tighten(v, base)]));
    if (isObject(out.patternProperties)) out.patternProperties = Object.fromEntries(Object.entries(out.patternProperties).map(([k, v]) => [k, this.tighten(v, base)]));
    if (isObject(out.additionalProperties)) out.additionalProperties = this.tighten(out.additionalProperties, base);
    if (Array.isArray(out.items)) out.items = out.items.map((i: unknown) => this.tighten(i, base));
    else if (isObject(out.items)) out.items = this.tighten(out.items, base);
    if (isObject(out.not)) out.not = this.tighten(out.not, base);
  }

  /** Adds every property name the composite's branches declare; true when some branch takes any property. */
  private collectProperties(node: Schema, base: string, names: Set<string>, seen: Set<string>): boolean {
    if (typeof node.$ref === 'string') {
      if (node.$ref === EXPRESSION_REF) return false;
      const target = this.resolve(node.$ref, base);
      if (!target) throw new Error(`unresolved $ref ${node.$ref} in ${base}`);
      const key = `${target.base}#${node.$ref.split('#')[1]}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return this.collectProperties(target.schema, target.base, names, seen);
    }
    let open = isObject(node.patternProperties) || (node.additionalProperties !== undefined && node.additionalProperties !== false);
    if (isObject(node.properties)) for (const k of Object.keys(node.properties)) names.add(k);
    for (const k of ['allOf', 'oneOf', 'anyOf']) {
      if (!Array.isArray(node[k])) continue;
      for (const b of node[k]) if (isObject(b) && this.collectProperties(b, base, names, seen)) open = true;
    }
    return open;
  }
}

/** A copy whose local `$ref`s name their file, so it can be inlined into another schema. */
const absoluteRefs = (node: unknown, base: string): any => {
  if (Array.isArray(node)) return node.map((n) => absoluteRefs(n, base));
  if (!isObject(node)) return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${base}${v}` : absoluteRefs(v, base)]));
};

/** `oneOf` → `anyOf` (see the module comment). */
const anyOfForExpressions = (node: unknown): any => {
  if (Array.isArray(node)) return node.map(anyOfForExpressions);
  if (!isObject(node)) return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, anyOfForExpressions(v)]));
  if (Array.isArray(out.oneOf)) {
    if (Array.isArray(out.anyOf)) out.allOf = [...(out.allOf ?? []), { anyOf: out.oneOf }];
    else out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  return out;
};

const pointerToPath = (pointer: string) =>
  pointer
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');

/**
 * Ajv's errors as a person would say them: unknown properties first, by path, without the noise
 * of the expression alternative every property offers.
 */
const describe = (errors: ErrorObject[] | null | undefined): string[] => {
  const list = errors ?? [];
  const unknown = list
    .filter((e) => e.keyword === 'additionalProperties')
    .map((e) => {
      const at = pointerToPath(e.instancePath);
      return `unknown property ${at ? `${at}.` : ''}${(e.params as { additionalProperty: string }).additionalProperty}`;
    });
  const other = list
    .filter((e) => e.keyword !== 'additionalProperties' && !['anyOf', 'oneOf', 'allOf'].includes(e.keyword))
    .filter((e) => !/\/definitions\/expression\//.test(e.schemaPath) && !(e.keyword === 'type' && (e.params as { type?: string }).type === 'string' && /expression/.test(e.schemaPath)))
    .map((e) => `${pointerToPath(e.instancePath) || '(resource)'} ${e.message}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`);
  const all = [...new Set([...unknown, ...other])];
  return all.length > 0 ? all : list.slice(0, 3).map((e) => `${pointerToPath(e.instancePath) || '(resource)'} ${e.message}`);
};

export interface ResourceAt {
  /** How a person finds it: `resources[3] Microsoft.Web/sites 'variables('webAppName')'` (nested: inside its deployment). */
  where: string;
  resource: Schema;
}

/** Every resource of a template, the nested deployments' templates' ones too (in order, depth first). */
export function resourcesOf(template: Schema, where = ''): ResourceAt[] {
  const list: unknown[] = Array.isArray(template.resources) ? template.resources : Object.values(template.resources ?? {});
  return list.flatMap((r, i) => {
    const resource = (isObject(r) ? r : {}) as Schema;
    const at = `${where}resources[${i}] ${resource.type} '${resource.name}'`;
    const nested = resource.type === 'Microsoft.Resources/deployments' && isObject(resource.properties?.template) ? resourcesOf(resource.properties.template, `${at} > `) : [];
    return [{ where: at, resource }, ...nested];
  });
}

/** Every string a template holds, object keys too (ARM evaluates expressions in both). */
function* stringsOf(node: unknown, skip?: (key: string, value: unknown, parent: Schema) => boolean): Generator<string> {
  if (typeof node === 'string') yield node;
  else if (Array.isArray(node)) for (const n of node) yield* stringsOf(n, skip);
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (skip?.(k, v, node)) continue;
      yield k;
      yield* stringsOf(v, skip);
    }
  }
}

const REFERENCE = /\b(parameters|variables)\s*\(\s*'([^']*)'\s*\)/g;

/** The `parameters('x')` and `variables('x')` a part of a template refers to, in its template expressions only. */
export function referencesIn(node: unknown, skip?: (key: string, value: unknown, parent: Schema) => boolean): { parameters: Set<string>; variables: Set<string> } {
  const found = { parameters: new Set<string>(), variables: new Set<string>() };
  for (const s of stringsOf(node, skip)) {
    if (!isExpression(s)) continue;
    for (const m of s.matchAll(REFERENCE)) found[m[1] as 'parameters' | 'variables'].add(m[2]!);
  }
  return found;
}

/** A nested deployment's inline template: it is checked as a template of its own. */
const isNestedTemplate = (key: string, value: unknown, parent: Schema) =>
  key === 'template' && isObject(value) && 'resources' in value && ('mode' in parent || 'expressionEvaluationOptions' in parent);

/**
 * References that resolve to nothing, declarations nothing uses, and nested deployments that pass
 * parameters their template does not declare (or leave out ones it requires).
 */
export function referenceProblems(template: Schema, where = 'template'): string[] {
  const problems: string[] = [];
  const declared = { parameters: new Set(Object.keys(template.parameters ?? {})), variables: new Set(Object.keys(template.variables ?? {})) };
  const used = referencesIn(template, isNestedTemplate);
  for (const kind of ['parameters', 'variables'] as const) {
    for (const name of used[kind]) if (!declared[kind].has(name)) problems.push(`${where}: ${kind}('${name}') is not declared`);
    for (const name of declared[kind]) if (!used[kind].has(name)) problems.push(`${where}: ${kind === 'parameters' ? 'parameter' : 'variable'} '${name}' is declared but never used`);
  }
  for (const { where: at, resource } of resourcesOf({ resources: template.resources ?? [] }, `${where} `)) {
    if (resource.type !== 'Microsoft.Resources/deployments' || !isObject(resource.properties?.template)) continue;
    if (!at.startsWith(`${where} resources[`) || at.includes(' > ')) continue;
    const nested = resource.properties.template as Schema;
    if (resource.properties.expressionEvaluationOptions?.scope?.toLowerCase() !== 'inner') {
      problems.push(`${at}: give the nested template expressionEvaluationOptions.scope 'inner' (it then sees only the parameters passed to it)`);
    }
    const passed = Object.keys(resource.properties.parameters ?? {});
    const params = (nested.parameters ?? {}) as Record<string, Schema>;
    for (const p of passed) if (!(p in params)) problems.push(`${at}: passes parameter '${p}', which its template does not declare`);
    for (const [p, def] of Object.entries(params)) if (def.defaultValue === undefined && !passed.includes(p)) problems.push(`${at}: does not pass '${p}', which its template requires`);
    problems.push(...referenceProblems(nested, `${at} > template`));
  }
  return problems;
}

export interface ArmChecker {
  /** Problems with the template: envelope, every resource's schema, references. Empty when it is sound. */
  checkTemplate(template: unknown, where?: string): string[];
  /** Problems with one resource against its type's schema (plus what a template may say about any resource). */
  checkResource(resource: Schema): string[];
  /** Problems with a parameters file, against `deploymentParameters.json` and the template it is for. */
  checkParametersFile(parameters: unknown, template: Schema): string[];
  /** The in-memory patches (see SCHEMA_PATCHES), as `file#/pointer`. */
  patchesApplied: string[];
}

/** A checker over the schema files in `schemaDir` (test/fixtures/arm-schemas). Compiles lazily, once per type. */
export function createArmChecker(schemaDir: string): ArmChecker {
  const set = new SchemaSet(schemaDir);

  const checkResource = (resource: Schema): string[] => {
    if (!isObject(resource) || typeof resource.type !== 'string' || typeof resource.apiVersion !== 'string') return ['a resource needs a type and an apiVersion'];
    if (Array.isArray(resource.resources) && resource.resources.length > 0) return ['declare child resources at the top level (name them parent/child), where their schema is checked'];
    const def = set.resourceDefinition(resource.type, resource.apiVersion);
    if (!def)
      return [`no published schema for ${resource.type} at API version ${resource.apiVersion} in ${schemaDir}: pick an API version that has one (or add its schema there, unchanged, with its source)`];
    const deployment = def.canonicalType === 'Microsoft.Resources/deployments';
    const validate = set.validator(def.ref, () => ({ allOf: [{ $ref: def.ref }, { $ref: RESOURCE_BASE_REF }, ...(deployment ? [NESTED_DEPLOYMENT_TARGET] : [])] }));
    // ARM resource types are case-insensitive; the schemas spell them one way.
    const copy: Schema = { ...resource, type: def.canonicalType };
    if (deployment && isObject(copy.properties?.template)) copy.properties = { ...copy.properties, template: {} };
    return validate(copy) ? [] : describe(validate.errors);
  };

  const envelope = (id: string) => set.validator(id, () => ({ $ref: `${id}#` }));

  return {
    patchesApplied: set.patchesApplied,
    checkResource,
    checkTemplate(template, where = 'template') {
      if (!isObject(template)) return [`${where}: not a JSON object`];
      const validate = envelope(TEMPLATE_ID);
      const problems = validate(template) ? [] : describe(validate.errors).map((p) => `${where}: ${p}`);
      if (typeof template.$schema !== 'string' || !template.$schema.startsWith(`${TEMPLATE_ID}#`)) problems.push(`${where}: $schema must be ${TEMPLATE_ID}#`);
      for (const { where: at, resource } of resourcesOf(template, `${where} `)) {
        problems.push(...checkResource(resource).map((p) => `${at}: ${p}`));
        if (resource.type === 'Microsoft.Resources/deployments' && isObject(resource.properties?.template)) {
          const nested = envelope(TEMPLATE_ID);
          if (!nested(resource.properties.template)) problems.push(...describe(nested.errors).map((p) => `${at} > template: ${p}`));
        }
      }
      problems.push(...referenceProblems(template, where));
      return problems;
    },
    checkParametersFile(parameters, template) {
      if (!isObject(parameters)) return ['not a JSON object'];
      const validate = envelope(PARAMETERS_ID);
      const problems = validate(parameters) ? [] : describe(validate.errors);
      const declared = (template.parameters ?? {}) as Record<string, Schema>;
      const given = Object.keys(parameters.parameters ?? {});
      for (const p of given) if (!(p in declared)) problems.push(`parameter '${p}' is not declared by the template`);
      for (const [p, def] of Object.entries(declared)) if (def.defaultValue === undefined && !given.includes(p)) problems.push(`parameter '${p}' is required by the template and missing`);
      return problems;
    },
  };
}
