//! A pickle *reader* for PyTorch state dicts — never an executor.
//!
//! It interprets the opcodes `torch.save` emits (protocols 2–4) into plain
//! values; the only callables are an allow-list of constructors a state dict
//! needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor{,_v2}`,
//! `_rebuild_parameter`) and the storage types of the allowed dtypes. Any other
//! global (`os.system`, `builtins.eval`, …), any other opcode, a truncated
//! stream or inconsistent data is one [`PickleError`] naming what was found.
//! Nothing is allocated beyond what the input's own length justifies: every
//! length is checked against the bytes left before it is read, memo fetches share
//! (strings and bytes are reference-counted, never copied), a container may not
//! contain itself (refused when the cycle would close), and containers are dropped
//! with an explicit work list, so a million nested lists cannot overflow the stack.
//! Messages show values through [`Value::describe`]: bounded, never recursive.
//!
//! (serde-pickle, the maintained general crate, has no persistent ids — how
//! every PyTorch file refers to its tensor data — and resolves only builtins;
//! candle's reader comes with candle-core. This one is small and strict.)

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::value::{shorten, Dtype, Global, Items, TensorRef, Value};

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// The stream ended inside an opcode or before STOP.
    #[error("pickle truncated at byte {0}")]
    Truncated(usize),
    /// An opcode outside what a state dict needs.
    #[error("pickle opcode 0x{op:02x} at byte {at} is not allowed in a state dict")]
    Opcode {
        /// The opcode.
        op: u8,
        /// Its offset in the pickle.
        at: usize,
    },
    /// A global outside the allow-list (never resolved, never called; shown shortened).
    #[error("pickle global `{0}` is not allowed in a state dict (only OrderedDict, torch's tensor rebuild functions and float32/float16/float64/int64 storages)")]
    Global(String),
    /// Well-formed opcodes that do not make a state dict.
    #[error("pickle at byte {at}: {reason}")]
    Invalid {
        /// Offset in the pickle.
        at: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Container items the cycle checks may visit per byte of the pickle before the
/// structure is refused as too intricate for a state dict (torch's files need none: their
/// containers hold tensors, strings and ints).
const VISITS_PER_BYTE: usize = 4;

/// Resolves a persistent id (`BINPERSID`) to a storage; the format decides how.
pub type Persistent<'a> = dyn FnMut(&[Value]) -> Result<Value, String> + 'a;

/// Reads one pickle starting at `bytes[start..]`; returns its value and where it ended.
pub fn load(
    bytes: &[u8],
    start: usize,
    persistent: &mut Persistent<'_>,
) -> Result<(Value, usize), PickleError> {
    Machine {
        bytes,
        pos: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        visits_left: bytes.len().saturating_mul(VISITS_PER_BYTE).max(1 << 16),
    }
    .run(persistent)
}

struct Machine<'b> {
    bytes: &'b [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// What the cycle checks may still visit ([`VISITS_PER_BYTE`]).
    visits_left: usize,
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(PickleError::Truncated(self.bytes.len()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// `n` bytes whose length came from the file: checked against what is left first.
    fn sized(&mut self, n: u64) -> Result<&[u8], PickleError> {
        let n = usize::try_from(n).map_err(|_| PickleError::Truncated(self.bytes.len()))?;
        self.take(n)
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated(self.bytes.len()))?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn invalid(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Invalid {
            at: self.pos,
            reason: reason.into(),
        }
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.invalid("stack underflow (pop across a MARK)"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.invalid("stack underflow"))
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        let at = self.pos;
        self.stack.last_mut().ok_or(PickleError::Invalid {
            at,
            reason: "stack underflow".into(),
        })
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.invalid("no MARK to pop to"))?;
        if m > self.stack.len() {
            return Err(self.invalid("MARK above the stack"));
        }
        Ok(self.stack.split_off(m))
    }

    fn str(&mut self, n: u64) -> Result<Value, PickleError> {
        let at = self.pos;
        let b = self.sized(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Str(s.into())),
            Err(_) => Err(PickleError::Invalid {
                at,
                reason: "string is not UTF-8".into(),
            }),
        }
    }

    fn global(&self, module: &str, name: &str) -> Result<Global, PickleError> {
        Ok(match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch", "FloatStorage") => Global::Storage(Dtype::F32),
            ("torch", "HalfStorage") => Global::Storage(Dtype::F16),
            ("torch", "DoubleStorage") => Global::Storage(Dtype::F64),
            ("torch", "LongStorage") => Global::Storage(Dtype::I64),
            _ => return Err(PickleError::Global(shorten(&format!("{module}.{name}")))),
        })
    }

    fn run(mut self, persistent: &mut Persistent<'_>) -> Result<(Value, usize), PickleError> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(
                            self.invalid(format!("pickle protocol {proto} (torch writes 2–4)"))
                        );
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a size hint; the bytes follow inline.
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok((v, self.pos));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.stack.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.take(2)?.try_into().unwrap());
                    self.stack.push(Value::Int(v.into()));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let v = long(self.take(n)?);
                    self.stack.push(v);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let n = self.u32()?.into();
                    let v = self.str(n)?;
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.u8()?.into();
                    let v = self.str(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.u64()?;
                    let v = self.str(n)?;
                    self.stack.push(v);
                }
                b'T' | b'B' => {
                    let n = self.u32()?.into();
                    let b = Value::Bytes(self.sized(n)?.into());
                    self.stack.push(b);
                }
                b'U' | b'C' => {
                    let n = self.u8()?.into();
                    let b = Value::Bytes(self.sized(n)?.into());
                    self.stack.push(b);
                }
                b'}' => self.stack.push(Value::Dict(Default::default())),
                b']' => self.stack.push(Value::List(Default::default())),
                b')' => self.stack.push(Value::Tuple(Default::default())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(Rc::new(Items(items))));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n + self.marks.last().copied().unwrap_or(0) {
                        return Err(self.invalid("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(Rc::new(Items(items))));
                }
                b'q' => {
                    let i = self.u8()?.into();
                    self.put(i)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.put(i)?;
                }
                0x94 => {
                    let i =
                        u32::try_from(self.memo.len()).map_err(|_| self.invalid("memo full"))?;
                    self.put(i)?;
                }
                b'h' => {
                    let i = self.u8()?.into();
                    self.get(i)?;
                }
                b'j' => {
                    let i = self.u32()?;
                    self.get(i)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(&module, &name)?;
                    self.stack.push(Value::Global(g));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (&module, &name) else {
                        return Err(self.invalid("STACK_GLOBAL needs two strings"));
                    };
                    let g = self.global(module, name)?;
                    self.stack.push(Value::Global(g));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.dict_insert(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.invalid("SETITEMS with an odd number of items"));
                    }
                    self.dict_insert(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.list_extend(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.list_extend(items)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.stack.push(v);
                }
                b'b' => {
                    let _state = self.pop()?;
                    // BUILD sets attributes: an OrderedDict's `_metadata` (module
                    // versions) is all torch adds; nothing else may be built.
                    match self.top()? {
                        Value::Dict(_) | Value::Tensor(_) => {}
                        other => {
                            let kind = other.kind();
                            return Err(self.invalid(format!("BUILD on a {kind}")));
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let Value::Tuple(items) = pid else {
                        return Err(self.invalid(format!(
                            "persistent id is a {}, expected a tuple",
                            pid.kind()
                        )));
                    };
                    let v = persistent(&items[..])
                        .map_err(|reason| PickleError::Invalid { at, reason })?;
                    self.stack.push(v);
                }
                _ => return Err(PickleError::Opcode { op, at }),
            }
        }
    }

    fn put(&mut self, i: u32) -> Result<(), PickleError> {
        let v = self.top()?.clone();
        self.memo.insert(i, v);
        Ok(())
    }

    fn get(&mut self, i: u32) -> Result<(), PickleError> {
        let v = self
            .memo
            .get(&i)
            .cloned()
            .ok_or_else(|| self.invalid(format!("memo {i} read before it was written")))?;
        self.stack.push(v);
        Ok(())
    }

    fn dict_insert(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        let top = self.top()?.clone();
        let Value::Dict(d) = &top else {
            return Err(self.invalid("SETITEM(S) on a value that is not a dict"));
        };
        self.refuse_cycles(&top, &items)?;
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.borrow_mut().push((k, v));
        }
        Ok(())
    }

    fn list_extend(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        let top = self.top()?.clone();
        let Value::List(l) = &top else {
            return Err(self.invalid("APPEND(S) on a value that is not a list"));
        };
        self.refuse_cycles(&top, &items)?;
        l.borrow_mut().extend(items);
        Ok(())
    }

    /// Refuses to put `items` into `target` when one of them reaches `target` (the
    /// container would contain itself). Each check walks the items' containers once
    /// (shared ones are visited once); every container visited and every item it holds
    /// count against the load's budget ([`VISITS_PER_BYTE`]), so hostile sharing cannot
    /// make the checks quadratic.
    fn refuse_cycles(&mut self, target: &Value, items: &[Value]) -> Result<(), PickleError> {
        let Some(goal) = target.container() else {
            return Ok(());
        };
        let cycle = || PickleError::Invalid {
            at: self.pos,
            reason: format!(
                "{} would contain itself (a cycle; a state dict has none)",
                target.describe()
            ),
        };
        // Containers to walk, each once (by address), cloned only when first met.
        let mut seen = HashSet::new();
        let mut work = Vec::new();
        for v in items {
            if let Some(at) = v.container() {
                if at == goal {
                    return Err(cycle());
                }
                if seen.insert(at) {
                    work.push(v.clone());
                }
            }
        }
        while let Some(v) = work.pop() {
            let len = match &v {
                Value::Tuple(t) => t.len(),
                Value::List(l) => l.borrow().len(),
                Value::Dict(d) => 2 * d.borrow().len(),
                _ => 0,
            };
            if 1 + len > self.visits_left {
                return Err(self.invalid(format!(
                    "nested containers too intricate for a state dict (more than {VISITS_PER_BYTE} visits per byte of the pickle)"
                )));
            }
            self.visits_left -= 1 + len;
            let mut visit = |c: &Value| -> Result<(), PickleError> {
                if let Some(at) = c.container() {
                    if at == goal {
                        return Err(cycle());
                    }
                    if seen.insert(at) {
                        work.push(c.clone());
                    }
                }
                Ok(())
            };
            match &v {
                Value::Tuple(t) => t.iter().try_for_each(&mut visit)?,
                Value::List(l) => l.borrow().iter().try_for_each(&mut visit)?,
                Value::Dict(d) => d
                    .borrow()
                    .iter()
                    .try_for_each(|(k, v)| visit(k).and_then(|()| visit(v)))?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Calls an allowed constructor on plain arguments.
    fn reduce(&self, callable: Value, args: Value) -> Result<Value, PickleError> {
        let Value::Tuple(args) = args else {
            return Err(self.invalid(format!(
                "REDUCE arguments are a {}, expected a tuple",
                args.kind()
            )));
        };
        let Value::Global(g) = callable else {
            return Err(self.invalid(format!("REDUCE calls a {}", callable.kind())));
        };
        match g {
            Global::OrderedDict if args.is_empty() => Ok(Value::Dict(Default::default())),
            Global::RebuildTensorV2 | Global::RebuildTensor if args.len() >= 4 => {
                let Value::Storage(storage) = &args[0] else {
                    return Err(self.invalid(format!("tensor storage is a {}", args[0].kind())));
                };
                Ok(Value::Tensor(Rc::new(TensorRef {
                    storage: storage.clone(),
                    offset: self.uint(&args[1], "storage offset")?,
                    shape: self.uints(&args[2], "size")?,
                    stride: self.uints(&args[3], "stride")?,
                })))
            }
            Global::RebuildParameter if !args.is_empty() => match &args[0] {
                t @ Value::Tensor(_) => Ok(t.clone()),
                other => Err(self.invalid(format!("parameter data is a {}", other.kind()))),
            },
            g => Err(self.invalid(format!("{g:?} called with {} arguments", args.len()))),
        }
    }

    fn uint(&self, v: &Value, what: &str) -> Result<u64, PickleError> {
        match v {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            other => Err(self.invalid(format!(
                "tensor {what} must be a non-negative int, found {}",
                other.describe()
            ))),
        }
    }

    fn uints(&self, v: &Value, what: &str) -> Result<Vec<u64>, PickleError> {
        match v {
            Value::Tuple(items) => items.iter().map(|i| self.uint(i, what)).collect(),
            other => Err(self.invalid(format!(
                "tensor {what} is a {}, expected a tuple",
                other.kind()
            ))),
        }
    }
}

/// LONG1's little-endian two's-complement bytes.
fn long(b: &[u8]) -> Value {
    if b.len() > 8 {
        return Value::BigInt(b.into());
    }
    if b.is_empty() {
        return Value::Int(0);
    }
    let fill = if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 };
    let mut full = [fill; 8];
    full[..b.len()].copy_from_slice(b);
    Value::Int(i64::from_le_bytes(full))
}
