//! Hostile `torch.save` files built byte by byte (the legacy format: a few pickles in a
//! row, then the storages), for the checkpoint tests and the structure fuzz test.

#![allow(dead_code)]

/// Opcodes of pickle protocol 2 that the builders below emit.
pub const MARK: u8 = b'(';
pub const STOP: u8 = b'.';
pub const EMPTY_LIST: u8 = b']';
pub const EMPTY_DICT: u8 = b'}';
pub const EMPTY_TUPLE: u8 = b')';
pub const TUPLE: u8 = b't';
pub const APPEND: u8 = b'a';
pub const APPENDS: u8 = b'e';
pub const SETITEM: u8 = b's';
pub const SETITEMS: u8 = b'u';
pub const BINPUT: u8 = b'q';
pub const BINGET: u8 = b'h';
pub const REDUCE: u8 = b'R';
pub const BINPERSID: u8 = b'Q';
pub const NONE: u8 = b'N';

/// `X`: a unicode string.
pub fn string(s: &str) -> Vec<u8> {
    let mut b = vec![b'X'];
    b.extend((s.len() as u32).to_le_bytes());
    b.extend(s.as_bytes());
    b
}

/// `B`: bytes.
pub fn bytes(n: usize, fill: u8) -> Vec<u8> {
    let mut b = vec![b'B'];
    b.extend((n as u32).to_le_bytes());
    b.extend(std::iter::repeat_n(fill, n));
    b
}

/// `J`: a 32-bit int.
pub fn int(i: i32) -> Vec<u8> {
    let mut b = vec![b'J'];
    b.extend(i.to_le_bytes());
    b
}

/// `c`: a global.
pub fn global(module: &str, name: &str) -> Vec<u8> {
    format!("c{module}\n{name}\n").into_bytes()
}

/// A float32 tensor of `numel` elements viewing storage `key` (legacy persistent id).
pub fn tensor(key: &str, numel: i32) -> Vec<u8> {
    let mut b = global("torch._utils", "_rebuild_tensor_v2");
    b.push(MARK);
    // The storage: ('storage', FloatStorage, key, 'cpu', numel, None) as a persistent id.
    b.push(MARK);
    b.extend(string("storage"));
    b.extend(global("torch", "FloatStorage"));
    b.extend(string(key));
    b.extend(string("cpu"));
    b.extend(int(numel));
    b.push(NONE);
    b.push(TUPLE);
    b.push(BINPERSID);
    b.extend(int(0)); // offset
    b.push(MARK);
    b.extend(int(numel)); // size
    b.push(TUPLE);
    b.push(MARK);
    b.extend(int(1)); // stride
    b.push(TUPLE);
    b.push(TUPLE);
    b.push(REDUCE);
    b
}

/// A whole legacy file: magic, protocol, sys_info, `object` (its opcodes, without STOP),
/// the storage key list and each storage's float32 data (`numel` zeros).
pub fn legacy(object: &[u8], storages: &[(&str, usize)]) -> Vec<u8> {
    let mut b = vec![0x80, 0x02, 0x8a, 0x0a];
    b.extend([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
    b.push(STOP);
    b.extend([0x80, 0x02, b'M', 0xe9, 0x03, STOP]); // protocol version 1001
    b.extend([0x80, 0x02, EMPTY_DICT, STOP]); // sys_info
    b.extend([0x80, 0x02]);
    b.extend(object);
    b.push(STOP);
    b.extend([0x80, 0x02, EMPTY_LIST, MARK]);
    for (key, _) in storages {
        b.extend(string(key));
    }
    b.extend([APPENDS, STOP]);
    for (_, numel) in storages {
        b.extend((*numel as u64).to_le_bytes());
        b.extend(std::iter::repeat_n(0u8, numel * 4));
    }
    b
}

/// A state dict `{name: tensor(key, numel), …}` as object opcodes.
pub fn state_dict(entries: &[(&str, &str, i32)]) -> Vec<u8> {
    let mut b = vec![EMPTY_DICT, MARK];
    for (name, key, numel) in entries {
        b.extend(string(name));
        b.extend(tensor(key, *numel));
    }
    b.push(SETITEMS);
    b
}
