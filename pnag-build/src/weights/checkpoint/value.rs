//! The values the pickle reader builds: scalars, reference-counted strings and bytes,
//! containers (dropped without recursion), globals from the allow-list, storages and
//! tensors. Messages show them through [`Value::describe`]: bounded, never recursive.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

/// Element types a storage may have (the allow-list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `torch.FloatStorage`
    F32,
    /// `torch.HalfStorage`
    F16,
    /// `torch.DoubleStorage`
    F64,
    /// `torch.LongStorage`
    I64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

/// A storage a tensor views (data resolved by the container format).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    /// Element type.
    pub dtype: Dtype,
    /// The key naming its data (zip entry `data/<key>`, or legacy record key).
    pub key: String,
    /// Elements, as the pickle says (checked against the data later).
    pub numel: u64,
    /// Legacy format only: a view `(offset, size)` of the root storage.
    pub view: Option<(u64, u64)>,
}

/// A tensor: a strided view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    /// Its storage.
    pub storage: Rc<StorageRef>,
    /// Offset into the storage, in elements.
    pub offset: u64,
    /// Shape.
    pub shape: Vec<u64>,
    /// Strides, in elements.
    pub stride: Vec<u64>,
}

/// A callable the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    Storage(Dtype),
}

/// A value on the pickle machine's stack (floats and bytes are only ever shown in messages).
/// Cloning is cheap (reference counts), so a memo fetched a million times costs a million
/// small stack slots, not a million copies.
#[derive(Clone)]
#[allow(dead_code)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits (the legacy format's magic number), little-endian bytes.
    BigInt(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Items>),
    List(Rc<RefCell<Items>>),
    Dict(Rc<RefCell<Pairs>>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

/// The items of a tuple or list. Dropped without recursion (see [`drop_all`]).
#[derive(Default)]
pub struct Items(pub(super) Vec<Value>);

/// The entries of a dict, in insertion order. Dropped without recursion.
#[derive(Default)]
pub struct Pairs(pub(super) Vec<(Value, Value)>);

impl Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

impl Deref for Pairs {
    type Target = Vec<(Value, Value)>;
    fn deref(&self) -> &Vec<(Value, Value)> {
        &self.0
    }
}

impl DerefMut for Pairs {
    fn deref_mut(&mut self) -> &mut Vec<(Value, Value)> {
        &mut self.0
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        drop_all(std::mem::take(&mut self.0));
    }
}

impl Drop for Pairs {
    fn drop(&mut self) {
        drop_all(
            std::mem::take(&mut self.0)
                .into_iter()
                .flat_map(|(k, v)| [k, v])
                .collect(),
        );
    }
}

/// Drops values with an explicit work list: a container whose last reference goes has its
/// items moved onto the list before it is freed, so nesting depth never reaches the stack.
fn drop_all(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        match v {
            Value::Tuple(t) => {
                if let Ok(mut items) = Rc::try_unwrap(t) {
                    work.append(&mut items.0);
                }
            }
            Value::List(l) => {
                if let Ok(cell) = Rc::try_unwrap(l) {
                    work.append(&mut cell.into_inner().0);
                }
            }
            Value::Dict(d) => {
                if let Ok(cell) = Rc::try_unwrap(d) {
                    let mut pairs = cell.into_inner();
                    work.extend(
                        std::mem::take(&mut pairs.0)
                            .into_iter()
                            .flat_map(|(k, v)| [k, v]),
                    );
                }
            }
            _ => {}
        }
    }
}

/// At most this many characters of a value in a message.
const SHOWN_CHARS: usize = 80;

/// `s` cut to [`SHOWN_CHARS`] characters, control characters escaped, with the length
/// said when cut (a hostile file's 4 MB string is not repeated in an error line).
pub fn shorten(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(char::escape_debug)
        .take(SHOWN_CHARS + 1)
        .collect();
    if escaped.chars().count() > SHOWN_CHARS {
        let head: String = escaped.chars().take(SHOWN_CHARS).collect();
        format!("{head}… ({} bytes)", s.len())
    } else {
        escaped
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Value {
    /// A bounded, non-recursive description for messages: scalars and short strings as
    /// themselves, containers by kind and length (never their items).
    pub fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(b) => format!("an int of {} bytes", b.len()),
            Value::Float(x) => format!("{x}"),
            Value::Str(s) => format!("'{}'", shorten(s)),
            Value::Bytes(b) => format!("bytes of length {}", b.len()),
            Value::Tuple(t) => format!("a tuple of {} items", t.len()),
            Value::List(l) => format!("a list of {} items", l.borrow().len()),
            Value::Dict(d) => format!("a dict of {} entries", d.borrow().len()),
            Value::Global(g) => format!("{g:?}"),
            Value::Storage(s) => format!("storage `{}`", shorten(&s.key)),
            Value::Tensor(_) => "a tensor".into(),
        }
    }

    /// The address of a container's contents (what a cycle check compares).
    pub(super) fn container(&self) -> Option<*const ()> {
        match self {
            Value::Tuple(t) => Some(Rc::as_ptr(t).cast()),
            Value::List(l) => Some(Rc::as_ptr(l).cast()),
            Value::Dict(d) => Some(Rc::as_ptr(d).cast()),
            _ => None,
        }
    }

    /// Its Python type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "class",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }
}
