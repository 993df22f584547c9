# Computes internal/tencent/testdata/usersig_vectors.json independently of the
# Go code, with Python's standard library, as Tencent's TLSSigAPIv2 does:
#   python3 internal/tencent/testdata/usersig.py > internal/tencent/testdata/usersig_vectors.json
import base64, hashlib, hmac, json, zlib

cases = [
    ("5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", "administrator", 1400000000, 1700000000, 86400),
    ("secret", "bob", 1400012345, 1669872112, 604800),
    ("k", "admin@example/ops", 20000001, 1764000000, 180),
]
out = []
for key, identifier, sdkappid, t, expire in cases:
    content = f"TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{t}\nTLS.expire:{expire}\n"
    sig = base64.b64encode(hmac.new(key.encode(), content.encode(), hashlib.sha256).digest()).decode()
    doc = {"TLS.ver": "2.0", "TLS.identifier": identifier, "TLS.sdkappid": sdkappid,
           "TLS.expire": expire, "TLS.time": t, "TLS.sig": sig}
    usersig = base64.b64encode(zlib.compress(json.dumps(doc).encode())).decode()
    usersig = usersig.replace("+", "*").replace("/", "-").replace("=", "_")
    out.append({"key": key, "identifier": identifier, "sdkAppID": sdkappid, "time": t,
                "expire": expire, "sig": sig, "userSig": usersig})
print(json.dumps(out, indent=2))
