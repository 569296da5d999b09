//! A byte buffer with a size cap, for bodies read from the network (the admin API's requests,
//! JWKS documents): whatever a peer sends, at most `limit` bytes are kept.

/// The body went past its limit (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("larger than {limit} bytes")]
pub struct TooLarge {
    pub limit: usize,
}

#[derive(Debug)]
pub struct BoundedBuf {
    bytes: Vec<u8>,
    limit: usize,
}

impl BoundedBuf {
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
        }
    }

    /// Refuses a declared length (`Content-Length`) over the limit before anything is read.
    pub fn expect(&self, declared: Option<u64>) -> Result<(), TooLarge> {
        match declared {
            Some(n) if n > self.limit as u64 => Err(TooLarge { limit: self.limit }),
            _ => Ok(()),
        }
    }

    /// Appends `chunk`, or refuses it (keeping nothing of it) if the total would pass the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if self.bytes.len() + chunk.len() > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_limit_and_refuses_past_it() {
        let mut buf = BoundedBuf::new(5);
        assert_eq!(buf.expect(Some(5)), Ok(()));
        assert_eq!(buf.expect(Some(6)), Err(TooLarge { limit: 5 }));
        assert_eq!(buf.expect(None), Ok(()));
        buf.push(b"abc").unwrap();
        assert_eq!(buf.push(b"def"), Err(TooLarge { limit: 5 }));
        buf.push(b"de").unwrap();
        assert_eq!(buf.push(b"f"), Err(TooLarge { limit: 5 }));
        assert_eq!(buf.into_inner(), b"abcde");
    }
}
