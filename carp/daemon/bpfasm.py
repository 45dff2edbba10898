"""A small eBPF assembler: the instructions carpd's traffic filters need, nothing else (pure).

carpd builds its tc programs (carp/daemon/lbfilter.py) in Python instead of shipping an
object file compiled by clang, so that a machine needs no compiler, no libbpf and no
BTF to run it.  The encoding is the one of the kernel's
Documentation/bpf/standardization/instruction-set.rst: eight bytes per instruction,

    opcode u8 | dst_reg (low nibble) src_reg (high nibble) u8 | offset s16 | imm s32

little-endian (the byte order of every host carpd runs on), and the 64-bit immediate
load (LD_IMM64) taking two slots.  Jump offsets count slots after the jump; the
assembler resolves them from labels, so a program reads top to bottom like the C it
replaces:

    a = Asm()
    a.ldx("w", R2, R1, SKB_DATA)
    a.jmp("gt", R3, R2, "out")        # if r3 > r2 goto out
    ...
    a.label("out")
    a.mov(R0, -1).exit()
    code = a.assemble()
"""

from __future__ import annotations

import struct

# registers: r0 return value / helper result, r1-r5 helper arguments (clobbered by a
# call), r6-r9 callee-saved, r10 the read-only frame pointer
R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
FP = R10

# instruction classes
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
K, X = 0x00, 0x08  # operand source: immediate or register
MEM, IMM = 0x60, 0x00  # load/store modes
SIZES = {"w": 0x00, "h": 0x08, "b": 0x10, "dw": 0x18}
SIZE_BYTES = {"b": 1, "h": 2, "w": 4, "dw": 8}
ALU_OPS = {
    "add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50,
    "lsh": 0x60, "rsh": 0x70, "neg": 0x80, "mod": 0x90, "xor": 0xA0, "mov": 0xB0,
    "arsh": 0xC0,
}
END = 0xD0
TO_BE = 0x08
JMP_OPS = {
    "ja": 0x00, "eq": 0x10, "gt": 0x20, "ge": 0x30, "set": 0x40, "ne": 0x50,
    "sgt": 0x60, "sge": 0x70, "lt": 0xA0, "le": 0xB0, "slt": 0xC0, "sle": 0xD0,
}
CALL, EXIT = 0x80, 0x90
PSEUDO_MAP_FD = 1  # src_reg of LD_IMM64: imm is a map fd the kernel swaps for the map

INSN = struct.Struct("<BBhi")


class AsmError(ValueError):
    pass


def encode(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction."""
    if not (0 <= dst <= 10 and 0 <= src <= 10):
        raise AsmError(f"bad register r{dst}/r{src}")
    if not -(1 << 15) <= off < 1 << 15:
        raise AsmError(f"offset {off} out of range")
    if not -(1 << 31) <= imm < 1 << 32:
        raise AsmError(f"immediate {imm} out of range")
    if imm >= 1 << 31:  # an unsigned 32-bit constant, stored as its bit pattern
        imm -= 1 << 32
    return INSN.pack(opcode, (src << 4) | dst, off, imm)


class Asm:
    """Appends instructions; `assemble` resolves the labels.  Methods chain."""

    def __init__(self) -> None:
        self._code: list[tuple[int, int, int, int | str, int]] = []  # off may be a label
        self._slots = 0  # 8-byte slots so far (LD_IMM64 takes two)
        self._at: list[int] = []  # slot index of each instruction
        self.labels: dict[str, int] = {}

    def __len__(self) -> int:
        return self._slots

    def _emit(self, opcode: int, dst: int = 0, src: int = 0, off: int | str = 0,
              imm: int = 0, slots: int = 1) -> Asm:
        self._at.append(self._slots)
        self._code.append((opcode, dst, src, off, imm))
        self._slots += slots
        return self

    def label(self, name: str) -> Asm:
        if name in self.labels:
            raise AsmError(f"label {name!r} defined twice")
        self.labels[name] = self._slots
        return self

    # -- arithmetic ------------------------------------------------------------------

    def alu(self, op: str, dst: int, src: int | None = None, imm: int = 0,
            wide: bool = True) -> Asm:
        """dst op= src (a register) or imm; 64-bit unless wide=False (the upper half is
        then zeroed, as for every 32-bit ALU instruction)."""
        cls = ALU64 if wide else ALU
        if src is None:
            return self._emit(cls | ALU_OPS[op] | K, dst, 0, 0, imm)
        return self._emit(cls | ALU_OPS[op] | X, dst, src)

    def mov(self, dst: int, src: int | None = None, imm: int = 0) -> Asm:
        return self.alu("mov", dst, src, imm)

    def be(self, dst: int, bits: int) -> Asm:
        """Host order to big-endian (a byte swap on little-endian hosts) of the low
        `bits` (16, 32 or 64) bits, the upper ones zeroed: ntohl/ntohs."""
        if bits not in (16, 32, 64):
            raise AsmError(f"byte swap of {bits} bits")
        return self._emit(ALU | END | TO_BE, dst, 0, 0, bits)

    # -- memory ----------------------------------------------------------------------

    def ldx(self, size: str, dst: int, src: int, off: int) -> Asm:
        """dst = *(size *)(src + off)"""
        return self._emit(LDX | MEM | SIZES[size], dst, src, off)

    def stx(self, size: str, dst: int, off: int, src: int) -> Asm:
        """*(size *)(dst + off) = src"""
        return self._emit(STX | MEM | SIZES[size], dst, src, off)

    def st(self, size: str, dst: int, off: int, imm: int) -> Asm:
        """*(size *)(dst + off) = imm"""
        return self._emit(ST | MEM | SIZES[size], dst, 0, off, imm)

    def ld_imm64(self, dst: int, imm: int, src: int = 0) -> Asm:
        return self._emit(LD | IMM | SIZES["dw"], dst, src, 0, imm, slots=2)

    def ld_map_fd(self, dst: int, fd: int) -> Asm:
        """dst = the map behind file descriptor fd (the kernel rewrites the immediate)."""
        return self.ld_imm64(dst, fd, src=PSEUDO_MAP_FD)

    # -- control ---------------------------------------------------------------------

    def jmp(self, op: str, dst: int, src: int | None = None, imm: int = 0,
            to: str = "", wide: bool = True) -> Asm:
        """if (dst op src-or-imm) goto label `to` (64-bit compare unless wide=False)."""
        if not to:
            raise AsmError("jump without a target label")
        cls = JMP if wide else JMP32
        if src is None:
            return self._emit(cls | JMP_OPS[op] | K, dst, 0, to, imm)
        return self._emit(cls | JMP_OPS[op] | X, dst, src, to)

    def ja(self, to: str) -> Asm:
        return self._emit(JMP | JMP_OPS["ja"], 0, 0, to)

    def call(self, helper: int) -> Asm:
        return self._emit(JMP | CALL, 0, 0, 0, helper)

    def exit(self) -> Asm:
        return self._emit(JMP | EXIT)

    # -- output ----------------------------------------------------------------------

    def assemble(self) -> bytes:
        out = bytearray()
        for at, (opcode, dst, src, off, imm) in zip(self._at, self._code, strict=True):
            if isinstance(off, str):
                if off not in self.labels:
                    raise AsmError(f"undefined label {off!r}")
                off = self.labels[off] - (at + 1)
            if opcode == LD | IMM | SIZES["dw"]:
                out += encode(opcode, dst, src, 0, imm & 0xFFFF_FFFF)
                out += encode(0, 0, 0, 0, (imm >> 32) & 0xFFFF_FFFF)
            else:
                out += encode(opcode, dst, src, off, imm)
        return bytes(out)
