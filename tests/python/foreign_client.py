#!/usr/bin/env python3
"""Talks to a running Lodestone server with clients nobody on the project wrote.

gRPC: Python `grpcio`, with stubs generated now (grpcio-tools) from the project's .proto
files, after checking through server reflection (grpcio-reflection) that the server offers
lodestone.v1.Lodestone and the standard health service. Writes floats whose bits are hard to
keep (NaN payloads, -0.0, subnormals, 0.1 + 0.2), integers at the i64 extremes and booleans,
then reads them back and compares bit for bit; a bad batch must fail with INVALID_ARGUMENT.

HTTP: raw line protocol as `curl --data-binary` sends it to /write, read back through the
InfluxDB-compatible /query with epoch=ns, and through gRPC.

Usage: foreign_client.py --grpc HOST:PORT --http HOST:PORT --proto-dir DIR
Exits 0 when every check holds; prints what differed otherwise.
"""
import argparse
import http.client
import importlib
import json
import math
import os
import struct
import sys
import tempfile
import urllib.parse


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def generate_stubs(proto_dir, out_dir):
    from grpc_tools import protoc
    import grpc_tools

    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = [os.path.join("lodestone", "v1", f) for f in ("types.proto", "lodestone.proto")]
    rc = protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}",
                      f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *files])
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")
    for d in ("lodestone", os.path.join("lodestone", "v1")):
        open(os.path.join(out_dir, d, "__init__.py"), "a").close()
    sys.path.insert(0, out_dir)
    return (importlib.import_module("lodestone.v1.lodestone_pb2"),
            importlib.import_module("lodestone.v1.types_pb2"),
            importlib.import_module("lodestone.v1.lodestone_pb2_grpc"))


def reflected_services(channel):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    req = reflection_pb2.ServerReflectionRequest(list_services="")
    for resp in stub.ServerReflectionInfo(iter([req]), timeout=10):
        return {s.name for s in resp.list_services_response.service}
    return set()


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpc", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--proto-dir", required=True)
    args = ap.parse_args()

    import grpc

    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=20)
    services = reflected_services(channel)
    check("lodestone.v1.Lodestone" in services, f"reflection lists the service: {services}")
    check("grpc.health.v1.Health" in services, f"reflection lists health: {services}")

    with tempfile.TemporaryDirectory() as out:
        pb, types, rpc = generate_stubs(args.proto_dir, out)
        stub = rpc.LodestoneStub(channel)

        def key(name):
            return types.SeriesKey(name=name, labels=[types.Label(name="site", value="py"),
                                                      types.Label(name="asset", value="a1")])

        float_bits = [bits(0.1 + 0.2), bits(-0.0), 0x7FF8_0000_DEAD_BEEF, 0xFFF0_0000_0000_0001,
                      1, bits(math.inf), bits(1789.624), bits(-1e300)]
        ints = [-(2**63), 2**63 - 1, 0, -1, 42]
        bools = [True, False, True]
        req = types.WriteRequest(sequence=7, series=[
            types.SeriesPoints(series=key("py_float"), points=[
                types.Point(ts_ns=1_000 + i, f64=from_bits(b), quality=192) for i, b in enumerate(float_bits)]),
            types.SeriesPoints(series=key("py_int"), points=[
                types.Point(ts_ns=-5 + i, i64=v) for i, v in enumerate(ints)]),
            types.SeriesPoints(series=key("py_bool"), points=[
                types.Point(ts_ns=i * 10**9, bool=v, quality=i) for i, v in enumerate(bools)]),
        ])
        ack = stub.Write(req, timeout=20)
        check(ack.sequence == 7 and ack.points == len(float_bits) + len(ints) + len(bools),
              f"write acknowledged: {ack}")

        def query(name):
            out = []
            for page in stub.Query(pb.QueryRequest(series=key(name), start_ns=-(2**63), end_ns=2**63 - 1), timeout=20):
                out.extend(page.points)
            return out

        got = query("py_float")
        check([bits(p.f64) for p in got] == float_bits, f"float bits: {[hex(bits(p.f64)) for p in got]}")
        check([p.ts_ns for p in got] == [1_000 + i for i in range(len(float_bits))], "float timestamps")
        check(all(p.quality == 192 for p in got), "float quality")
        got = query("py_int")
        check([p.i64 for p in got] == ints and all(p.WhichOneof("value") == "i64" for p in got), f"ints: {got}")
        got = query("py_bool")
        check([p.bool for p in got] == bools and [p.quality for p in got] == [0, 1, 2], f"bools: {got}")

        # One bad point (a bool for a float series) refuses the whole batch.
        bad = types.WriteRequest(sequence=8, series=[
            types.SeriesPoints(series=key("py_new"), points=[types.Point(ts_ns=1, f64=1.0)]),
            types.SeriesPoints(series=key("py_float"), points=[types.Point(ts_ns=99, bool=True)]),
        ])
        try:
            stub.Write(bad, timeout=20)
            check(False, "a type change must be refused")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"status {e.code()}")
            check("py_float" in e.details(), f"message names the series: {e.details()}")
        names = {s.series.name for s in stub.ListSeries(pb.ListSeriesRequest(), timeout=20).series}
        check("py_new" not in names, f"nothing of the refused batch was written: {names}")

        # Raw HTTP line protocol, as curl --data-binary @file sends it.
        body = ("boiler,site=py,asset=a1 value=0.30000000000000004 1767225600000000000\n"
                "boiler,site=py,asset=a1 value=1e-300 1767225601000000000\n"
                "boiler,site=py,asset=a1 value=-0.0 1767225602000000000\n"
                "boiler,site=py,asset=a1 state=3i,on=t 1767225602000000000\n").encode()
        host, port = args.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=20)
        conn.request("POST", "/write?db=plant&precision=ns", body=body,
                     headers={"Content-Type": "application/octet-stream", "User-Agent": "curl/8.5.0"})
        r = conn.getresponse()
        text = r.read()
        check(r.status == 204, f"/write answered {r.status}: {text!r}")
        conn.request("POST", "/write", body=b"boiler,site=py value=oops 1\n")
        r = conn.getresponse()
        text = r.read().decode()
        check(r.status == 400 and "line 1" in text, f"bad line protocol: {r.status} {text}")

        q = urllib.parse.urlencode({"db": "plant", "epoch": "ns",
                                    "q": "SELECT value FROM boiler WHERE site='py' AND asset='a1'"})
        conn.request("GET", "/query?" + q)
        r = conn.getresponse()
        doc = json.loads(r.read())
        check(r.status == 200, f"/query answered {r.status}: {doc}")
        values = doc["results"][0]["series"][0]["values"]
        check([v[0] for v in values] == [1767225600000000000, 1767225601000000000, 1767225602000000000],
              f"/query times: {values}")
        check([bits(v[1]) for v in values] == [bits(0.1 + 0.2), bits(1e-300), bits(-0.0)],
              f"/query values bit-exact: {values}")
        got = query("boiler.state")
        check([p.i64 for p in got] == [3], f"line-protocol integer field via gRPC: {got}")
        got = query("boiler")
        check([bits(p.f64) for p in got] == [bits(0.1 + 0.2), bits(1e-300), bits(-0.0)],
              "line protocol via gRPC bit-exact")

    print("foreign clients: every check held")


if __name__ == "__main__":
    main()
