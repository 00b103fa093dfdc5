// tierui's Pulumi program runner for Node.js (JavaScript and TypeScript).
// tierui starts it with `node`; it reads one JSON request on stdin, runs the
// program under the Pulumi SDK's unit-test mocks (nothing is deployed, no
// engine, no backend, no cloud) with the project's own node_modules, and writes
// one JSON result on stdout: every resource the program registered, with its
// type, name, parent, provider and inputs. Secret inputs and values only known
// after apply are marked, never printed. The program's output goes to stderr.
"use strict";
const fs = require("fs");
const path = require("path");

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const write = (result) => fs.writeSync(1, JSON.stringify(result) + "\n");
console.log = console.error;
console.info = console.error;

async function main() {
    const req = JSON.parse(fs.readFileSync(0, "utf8"));
    const dir = req.project_dir;
    const placeholder = req.secret_placeholder;
    const resources = [];
    const invokes = [];
    let pulumiEntry;
    try {
        pulumiEntry = require.resolve("@pulumi/pulumi", { paths: [dir] });
    } catch (e) {
        return { error: { kind: "missing-sdk", message: `@pulumi/pulumi is not installed in ${dir}/node_modules` } };
    }
    const sdkDir = path.dirname(pulumiEntry);
    const pulumi = require(pulumiEntry);
    const mocks = require(path.join(sdkDir, "runtime", "mocks.js"));
    const settings = require(path.join(sdkDir, "runtime", "settings.js"));

    const convert = (v) => {
        if (Array.isArray(v)) return v.map(convert);
        if (v !== null && typeof v === "object") {
            const sig = v[SIG_KEY];
            if (sig === SECRET_SIG) {
                // The SDK may push secretness up to the enclosing list or map;
                // the placeholder says which values inside really are secret.
                const inner = v.value;
                if (inner !== null && typeof inner === "object" && JSON.stringify(inner).includes(placeholder)) return convert(inner);
                return { __tierui: "secret" };
            }
            if (sig === RESOURCE_SIG) return { __tierui: "resource", urn: v.urn || "" };
            if (sig !== undefined) return { __tierui: "unknown" };
            // Protobuf maps have no order: keys are sorted so two renders line up.
            const out = {};
            for (const k of Object.keys(v).sort()) out[k] = convert(v[k]);
            return out;
        }
        if (typeof v === "string") {
            if (v === UNKNOWN) return { __tierui: "unknown" };
            if (v.includes(placeholder)) return { __tierui: "secret" };
        }
        return v;
    };

    const register = mocks.MockMonitor.prototype.registerResource;
    mocks.MockMonitor.prototype.registerResource = function (r, callback) {
        if (r.getType() !== "pulumi:pulumi:Stack") {
            resources.push({
                type: r.getType(),
                name: r.getName(),
                parent: r.getParent(),
                provider: r.getProvider(),
                custom: !!r.getCustom(),
                inputs: convert(r.getObject() ? r.getObject().toJavaScript() : {}),
            });
        }
        return register.call(this, r, callback);
    };

    // Registrations reach the monitor when their inputs resolve; the order the
    // program constructed them in is taken here, where construction is.
    const constructed = [];
    const runtimeResource = require(path.join(sdkDir, "runtime", "resource.js"));
    const registerResource = runtimeResource.registerResource;
    runtimeResource.registerResource = function (res, parent, t, name, ...rest) {
        constructed.push(`${t}::${name}`);
        return registerResource.call(this, res, parent, t, name, ...rest);
    };

    const references = req.stack_references || {};
    pulumi.runtime.setAllConfig(req.config, req.secret_keys || []);
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (args.type === "pulumi:pulumi:StackReference") {
                    const name = args.inputs.name || args.name;
                    if (!(name in references)) throw new Error(`StackReference ${name}: no stack of that name in the workspace`);
                    const ref = references[name];
                    // Outputs that could not be read: known only after apply.
                    if (ref === null) return { id: name, state: { name } };
                    const outputs = {};
                    const secret = [];
                    for (const [k, o] of Object.entries(ref)) {
                        outputs[k] = o.secret ? placeholder : o.value;
                        if (o.secret) secret.push(k);
                    }
                    return { id: name, state: { name, outputs, secretOutputNames: secret } };
                }
                // As in a preview: outputs not given as inputs are known after apply.
                return { id: undefined, state: { ...args.inputs } };
            },
            call: (args) => {
                invokes.push(args.token);
                return {};
            },
        },
        req.project,
        req.stack,
        true,
        req.organization || "organization",
    );

    const main = req.main;
    if (main.endsWith(".ts")) {
        const tsutils = require(path.join(sdkDir, "tsutils.js"));
        const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
        const tsconfig = path.join(dir, "tsconfig.json");
        require(tsnodeRequire).register({
            compiler: typescriptRequire,
            transpileOnly: true,
            project: tsconfig,
            skipProject: !fs.existsSync(tsconfig),
            compilerOptions: {},
        });
    }
    let failure;
    const onError = (e) => { failure = failure || e; };
    process.on("unhandledRejection", onError);
    process.on("uncaughtException", onError);
    try {
        const m = require(main);
        const entry = typeof m === "function" ? m : m && typeof m.default === "function" ? m.default : undefined;
        if (entry) await entry();
        await settings.waitForRPCs();
    } catch (e) {
        failure = failure || e;
    }
    // Let callbacks scheduled by the last registrations run.
    await new Promise((r) => setTimeout(r, 0));
    await settings.waitForRPCs().catch(onError);
    if (failure) return { error: describe(failure, dir), resources, invokes };
    const order = new Map();
    constructed.forEach((k, i) => { if (!order.has(k)) order.set(k, i); });
    const at = (r) => order.has(`${r.type}::${r.name}`) ? order.get(`${r.type}::${r.name}`) : order.size;
    resources.sort((a, b) => at(a) - at(b));
    return { resources, invokes };
}

function describe(e, dir) {
    const frames = [];
    const stack = (e && e.stack) || String(e);
    for (const line of stack.split("\n")) {
        const m = /\(?((?:\/|[A-Za-z]:)[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
        if (m && m[1].startsWith(dir + path.sep) && !m[1].includes("node_modules")) {
            frames.push({ file: path.relative(dir, m[1]), line: Number(m[2]), function: line.trim(), code: "" });
        }
    }
    return {
        kind: "program",
        type: (e && e.name) || "Error",
        message: (e && e.message) || String(e),
        frames,
        traceback: stack.slice(-4000),
    };
}

main().then(write, (e) => write({ error: { kind: "runner", message: String((e && e.stack) || e) } }));
