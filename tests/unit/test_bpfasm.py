"""carp.daemon.bpfasm: instruction encodings against the bytes clang and the kernel's
own samples produce (Documentation/bpf/standardization/instruction-set.rst)."""

from __future__ import annotations

import pytest

from carp.daemon.bpfasm import FP, R0, R1, R2, R3, R5, R6, R9, Asm, AsmError, encode


def one(build) -> str:  # type: ignore[no-untyped-def]
    a = Asm()
    build(a)
    return a.assemble().hex(" ")


@pytest.mark.parametrize(
    ("build", "want"),
    [
        (lambda a: a.mov(R0, imm=0), "b7 00 00 00 00 00 00 00"),  # r0 = 0
        (lambda a: a.mov(R0, imm=-1), "b7 00 00 00 ff ff ff ff"),  # r0 = -1 (TC_ACT_UNSPEC)
        (lambda a: a.mov(R6, R1), "bf 16 00 00 00 00 00 00"),  # r6 = r1
        (lambda a: a.alu("mov", R2, imm=7, wide=False), "b4 02 00 00 07 00 00 00"),  # w2 = 7
        (lambda a: a.exit(), "95 00 00 00 00 00 00 00"),
        (lambda a: a.call(1), "85 00 00 00 01 00 00 00"),  # bpf_map_lookup_elem
        (lambda a: a.ldx("w", R2, R1, 76), "61 12 4c 00 00 00 00 00"),  # r2 = skb->data
        (lambda a: a.ldx("h", R5, R2, 12), "69 25 0c 00 00 00 00 00"),
        (lambda a: a.ldx("b", R9, R0, 14), "71 09 0e 00 00 00 00 00"),
        (lambda a: a.ldx("dw", R3, R0, 0), "79 03 00 00 00 00 00 00"),
        (lambda a: a.stx("dw", FP, -8, R1), "7b 1a f8 ff 00 00 00 00"),
        (lambda a: a.stx("w", R2, 0, R5), "63 52 00 00 00 00 00 00"),
        (lambda a: a.stx("h", FP, -8, R5), "6b 5a f8 ff 00 00 00 00"),
        (lambda a: a.st("h", FP, -6, 0), "6a 0a fa ff 00 00 00 00"),
        (lambda a: a.st("w", FP, -16, 0x005E0000), "62 0a f0 ff 00 00 5e 00"),
        (lambda a: a.alu("add", R2, imm=-16), "07 02 00 00 f0 ff ff ff"),
        (lambda a: a.alu("xor", R0, R5), "af 50 00 00 00 00 00 00"),
        (lambda a: a.alu("and", R5, imm=0xF0), "57 05 00 00 f0 00 00 00"),
        (lambda a: a.alu("lsh", R5, imm=2), "67 05 00 00 02 00 00 00"),
        (lambda a: a.alu("rsh", R5, R9), "7f 95 00 00 00 00 00 00"),
        (lambda a: a.alu("mod", R0, R5, wide=False), "9c 50 00 00 00 00 00 00"),
        (lambda a: a.be(R0, 32), "dc 00 00 00 20 00 00 00"),  # r0 = be32 r0
        (lambda a: a.be(R0, 16), "dc 00 00 00 10 00 00 00"),
        (lambda a: a.ld_map_fd(R1, 3),
         "18 11 00 00 03 00 00 00 00 00 00 00 00 00 00 00"),  # r1 = map[fd 3]
        (lambda a: a.ld_imm64(R1, 0x1_0000_0002),
         "18 01 00 00 02 00 00 00 00 00 00 00 01 00 00 00"),
    ],
)
def test_encodings(build, want: str) -> None:  # type: ignore[no-untyped-def]
    assert one(build) == want


def test_jump_offsets_count_slots_after_the_jump() -> None:
    a = Asm()
    a.jmp("eq", R0, imm=0, to="out")  # slot 0
    a.ld_map_fd(R1, 3)  # slots 1-2
    a.mov(R0, imm=1)  # slot 3
    a.label("out").exit()  # slot 4
    code = a.assemble()
    assert code[:8].hex(" ") == "15 00 03 00 00 00 00 00"  # if r0 == 0 goto +3
    assert len(a) == 5 and len(code) == 40


def test_backward_jump_and_register_compare() -> None:
    a = Asm()
    a.label("top").mov(R0, imm=0)
    a.jmp("gt", R2, R3, to="top")  # r2 > r3: back two slots
    assert a.assemble()[8:].hex(" ") == "2d 32 fe ff 00 00 00 00"


def test_32bit_compare_of_an_unsigned_constant() -> None:
    a = Asm().jmp("eq", R5, imm=0xFFFF_FFFF, to="x", wide=False).label("x")
    assert a.assemble().hex(" ") == "16 05 00 00 ff ff ff ff"


def test_errors() -> None:
    with pytest.raises(AsmError):
        Asm().ja("nowhere").assemble()
    with pytest.raises(AsmError):
        Asm().label("a").label("a")
    with pytest.raises(AsmError):
        encode(0xB7, dst=11)
    with pytest.raises(AsmError):
        Asm().be(R0, 8)
