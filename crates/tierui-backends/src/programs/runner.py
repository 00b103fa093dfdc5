# tierui's Pulumi program runner for Python. tierui starts it with the
# project's own interpreter; it reads one JSON request on stdin, runs the
# program under the Pulumi SDK's unit-test mocks (nothing is deployed, no
# engine, no backend, no cloud) and writes one JSON result on stdout: every
# resource the program registered, with its type, name, parent, provider and
# inputs. Secret inputs and values only known after apply are marked, never
# printed. The program's own output goes to stderr.
import json
import os
import runpy
import sys
import traceback

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def main():
    request = json.loads(sys.stdin.read())
    result_fd = os.dup(1)
    os.dup2(2, 1)  # print() in the program goes to stderr
    sys.stdout = sys.stderr
    result = run(request)
    # Protobuf maps have no order: keys are sorted so two renders line up.
    os.write(result_fd, (json.dumps(result, sort_keys=True) + "\n").encode())


def run(req):
    try:
        import pulumi
        from google.protobuf import json_format
        from pulumi.runtime import mocks
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await
    except ImportError as e:
        return {"error": {"kind": "missing-sdk", "message": str(e)}}

    placeholder = req["secret_placeholder"]
    references = req.get("stack_references", {})
    resources = []
    invokes = []

    def convert(v):
        if isinstance(v, dict):
            sig = v.get(SIG_KEY)
            if sig == SECRET_SIG:
                # The SDK pushes secretness up to the enclosing list or map;
                # the placeholder says which values inside really are secret.
                inner = v.get("value")
                if isinstance(inner, (dict, list)) and placeholder in json.dumps(inner):
                    return convert(inner)
                return {"__tierui": "secret"}
            if sig == RESOURCE_SIG:
                return {"__tierui": "resource", "urn": v.get("urn", "")}
            if sig is not None:
                return {"__tierui": "unknown"}
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, str):
            if v == UNKNOWN:
                return {"__tierui": "unknown"}
            if placeholder in v:
                return {"__tierui": "secret"}
            return v
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            return int(v)
        return v

    class Recorder(mocks.MockMonitor):
        def RegisterResource(self, request):
            if request.type != "pulumi:pulumi:Stack":
                resources.append(
                    {
                        "type": request.type,
                        "name": request.name,
                        "parent": request.parent,
                        "provider": request.provider,
                        "custom": bool(request.custom),
                        "inputs": convert(json_format.MessageToDict(request.object)),
                    }
                )
            return super().RegisterResource(request)

    class Mocks(mocks.Mocks):
        def new_resource(self, args):
            if args.typ == "pulumi:pulumi:StackReference":
                name = args.inputs.get("name") or args.name
                if name not in references:
                    raise Exception(
                        f"StackReference {name}: no stack of that name in the workspace"
                    )
                ref = references[name]
                if ref is None:
                    # Outputs that could not be read: known only after apply.
                    return [name, {"name": name}]
                outputs = {
                    k: (placeholder if o.get("secret") else o.get("value"))
                    for k, o in ref.items()
                }
                secret = [k for k, o in ref.items() if o.get("secret")]
                return [name, {"name": name, "outputs": outputs, "secretOutputNames": secret}]
            # As in a preview: outputs not given as inputs are known after apply.
            return [None, dict(args.inputs)]

        def call(self, args):
            invokes.append(args.token)
            return {}

    # Registrations reach the monitor when their inputs resolve; the order
    # the program constructed them in is taken here, where construction is.
    import pulumi.resource as resource_module

    constructed = []
    register = resource_module.register_resource

    def in_program_order(res, ty, name, *args, **kwargs):
        constructed.append((ty, name))
        return register(res, ty, name, *args, **kwargs)

    resource_module.register_resource = in_program_order

    pulumi.runtime.set_all_config(req["config"], req.get("secret_keys", []))
    pulumi.runtime.set_mocks(
        Mocks(),
        project=req["project"],
        stack=req["stack"],
        preview=True,
        monitor=Recorder(Mocks()),
        organization=req.get("organization") or "organization",
    )
    program = req["main"]
    sys.path.insert(0, program if os.path.isdir(program) else os.path.dirname(program))
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(program, run_name="__main__")))
    except BaseException as e:  # noqa: BLE001 - the program's failure is the answer
        return {"error": failure(e, req["project_dir"]), "resources": resources, "invokes": invokes}
    order = {key: i for i, key in reversed(list(enumerate(constructed)))}
    resources.sort(key=lambda r: order.get((r["type"], r["name"]), len(order)))
    return {"resources": resources, "invokes": invokes}


def failure(e, project_dir):
    """The exception with the frames of the user's own files (innermost last)."""
    frames = []
    seen = set()
    cur = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        for f in traceback.extract_tb(cur.__traceback__):
            path = os.path.abspath(f.filename)
            if path.startswith(os.path.abspath(project_dir) + os.sep) and "site-packages" not in path:
                frames.append({"file": os.path.relpath(path, project_dir), "line": f.lineno, "function": f.name, "code": f.line or ""})
        cur = cur.__cause__ or cur.__context__
    return {
        "kind": "program",
        "type": type(e).__name__,
        "message": str(e),
        "frames": frames,
        "traceback": "".join(traceback.format_exception(type(e), e, e.__traceback__))[-4000:],
    }


main()
