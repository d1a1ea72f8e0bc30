"""The ctypes layer against include/pixelcnn.h: every struct's size and
field offsets as the C compiler lays them out, every declared function's
parameter count, the version, and how the library is found."""
import ctypes
import os
import re
import shutil
import subprocess
import sys

import pytest

import pixelcnn
from pixelcnn import _lib
from conftest import ROOT

HEADER = os.path.join(ROOT, "include", "pixelcnn.h")


def header():
    with open(HEADER) as f:
        text = f.read()
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def test_struct_layouts_match_the_header(tmp_path):
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        pytest.skip("no C compiler to lay out the header's structs")
    lines, expected = [], []
    for cname, st in sorted(_lib.STRUCTS.items()):
        lines.append('printf("%%zu\\n", sizeof(%s));' % cname)
        expected.append(ctypes.sizeof(st))
        for field, _ in st._fields_:
            lines.append('printf("%%zu %%zu\\n", offsetof(%s, %s), '
                         'sizeof(((%s *)0)->%s));'
                         % (cname, field, cname, field))
            expected += [getattr(st, field).offset, getattr(st, field).size]
    src = tmp_path / "layout.c"
    src.write_text('#include <stddef.h>\n#include <stdio.h>\n'
                   '#include "pixelcnn.h"\nint main(void) {\n%s\n'
                   'return 0;\n}\n' % "\n".join(lines))
    exe = str(tmp_path / "layout")
    subprocess.run([cc, "-std=c11", "-I", os.path.dirname(HEADER), "-o",
                    exe, str(src)], check=True)
    got = [int(v) for v in subprocess.run(
        [exe], capture_output=True, text=True, check=True).stdout.split()]
    assert got == expected


def params(decl):
    """The number of parameters of a C parameter list ("void": 0)."""
    decl = decl.strip()
    if decl in ("", "void"):
        return 0
    depth, n = 0, 1
    for ch in decl:
        depth += ch == "("
        depth -= ch == ")"
        n += ch == "," and depth == 0
    return n


def test_signatures_match_the_header():
    text = header()
    for name, (_, argtypes) in _lib.SIGNATURES.items():
        m = re.search(r"PCNN_API[^;{]*?\b%s\s*\(((?:[^()]|\([^()]*\))*)\)"
                      % name, text)
        assert m, "%s is not declared in pixelcnn.h" % name
        assert params(m.group(1)) == len(argtypes), name


def test_status_values_match_the_header():
    body = re.search(r"typedef enum \{(.*?)\} pcnn_status;", header(),
                     re.S).group(1)
    names = re.findall(r"PCNN_(\w+)", body)
    assert names[:8] == ["OK", "ERR_ARG", "ERR_SHAPE", "ERR_VALUE",
                         "ERR_NOMEM", "ERR_IO", "ERR_FORMAT",
                         "ERR_UNSUPPORTED"]
    assert _lib.ERR_UNSUPPORTED == 7


def test_version_is_the_header_s():
    v = re.search(r'#define PCNN_VERSION "([^"]+)"', header()).group(1)
    assert pixelcnn.__version__ == v


def run_python(code, **env):
    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=e, cwd=os.path.join(ROOT, "python"))


def test_library_from_environment():
    lib = os.path.join(ROOT, "build", "libpixelcnn.so")
    p = run_python("import pixelcnn; print(pixelcnn.library_path)",
                   PCNN_LIBRARY=lib)
    assert p.returncode == 0 and p.stdout.strip() == lib
    # the package imports without the library (a submodule such as
    # torch_interop needs none); its classes load it
    p = run_python("import pixelcnn; print(pixelcnn.__version__)",
                   PCNN_LIBRARY="/nonexistent/lib.so")
    assert p.returncode == 0 and p.stdout.strip() == pixelcnn.__version__
    p = run_python("import pixelcnn; pixelcnn.Chain",
                   PCNN_LIBRARY="/nonexistent/lib.so")
    assert p.returncode != 0
    assert "/nonexistent/lib.so (missing)" in p.stderr
    assert "PCNN_LIBRARY" in p.stderr


def test_library_in_tree_by_default():
    env = dict(os.environ)
    env.pop("PCNN_LIBRARY", None)
    p = subprocess.run([sys.executable, "-c", "import pixelcnn; "
                        "print(pixelcnn.library_path)"],
                       capture_output=True, text=True, env=env,
                       cwd=os.path.join(ROOT, "python"))
    assert p.stdout.strip() == os.path.join(ROOT, "build", "libpixelcnn.so")
