//! Where a subnet's weights come from: OFA supernet checkpoints read without Python
//! ([`checkpoint`]: safetensors or `torch.save` zip/pickle, nothing executed) and the
//! subnet sliced out of them exactly as OFA's `get_active_subnet` does (`extract`).

pub mod checkpoint;
pub mod extract;

pub use checkpoint::CheckpointError;
pub use extract::{extract, extract_file, ExtractError};
