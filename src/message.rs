//! Messages as the application sees them, and the UTF-8 payload type.

use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// Bytes that are known to be valid UTF-8: a text payload shared without copying.
///
/// ```
/// use rfc6455::Utf8Bytes;
///
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.len(), 6); // a str: bytes, not characters
/// let shared = text.clone(); // no copy: both share one buffer
/// assert_eq!(shared, "héllo");
/// assert_eq!(&text.into_bytes()[..], "héllo".as_bytes());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty string.
    pub const fn new() -> Self {
        Utf8Bytes(Bytes::new())
    }

    /// A string from a static str, without allocating.
    ///
    /// ```
    /// use rfc6455::{Message, Utf8Bytes};
    /// const HELLO: Utf8Bytes = Utf8Bytes::from_static("hello");
    /// assert_eq!(Message::Text(HELLO).as_text(), Some("hello"));
    /// ```
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Check `bytes` and wrap them.
    ///
    /// ```
    /// use rfc6455::bytes::Bytes;
    /// use rfc6455::Utf8Bytes;
    /// assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"ok")).is_ok());
    /// assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xff")).is_err());
    /// ```
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, core::str::Utf8Error> {
        core::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// Wrap bytes the caller has already validated (crate-internal: the
    /// incremental validator ran over exactly these bytes).
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The constructor invariant guarantees UTF-8; the re-check costs one
        // validation and keeps the crate free of `unsafe`.
        match core::str::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("Utf8Bytes holds validated UTF-8"),
        }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Unwrap into the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<alloc::string::String> for Utf8Bytes {
    fn from(s: alloc::string::String) -> Self {
        Utf8Bytes(Bytes::from(s.into_bytes()))
    }
}

impl From<&alloc::string::String> for Utf8Bytes {
    fn from(s: &alloc::string::String) -> Self {
        Utf8Bytes::from(s.as_str())
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A complete data message.
///
/// Converts from the usual payload types: text from `&str`, `String` and
/// [`Utf8Bytes`]; binary from `Vec<u8>`, `&[u8]` and [`Bytes`] (the
/// crate re-exports [`bytes`], so its version always
/// matches). Every `send` takes `impl Into<Message>`.
///
/// ```
/// use rfc6455::bytes::Bytes;
/// use rfc6455::Message;
///
/// let text = Message::from("hello");
/// assert_eq!(text.as_text(), Some("hello"));
/// assert_eq!(text.into_text().as_deref(), Some("hello"));
///
/// let binary: Message = vec![1u8, 2, 3].into();
/// assert!(!binary.is_text());
/// assert_eq!(binary.clone().into_text(), None);
/// assert_eq!(binary.into_data(), Bytes::from_static(&[1, 2, 3]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (opcode 0x1), validated UTF-8.
    Text(Utf8Bytes),
    /// A binary message (opcode 0x2).
    Binary(Bytes),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// use rfc6455::Message;
    /// let message = Message::text(format!("{} users online", 3));
    /// assert_eq!(message.as_text(), Some("3 users online"));
    /// ```
    pub fn text(s: impl Into<Utf8Bytes>) -> Self {
        Message::Text(s.into())
    }

    /// A binary message.
    ///
    /// ```
    /// use rfc6455::Message;
    /// let message = Message::binary(vec![0xde, 0xad]);
    /// assert_eq!(message.as_bytes(), &[0xde, 0xad]);
    /// assert!(!message.is_text());
    /// ```
    pub fn binary(b: impl Into<Bytes>) -> Self {
        Message::Binary(b.into())
    }

    /// The payload bytes, whatever the kind.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert_eq!(Message::text("ab").as_bytes(), b"ab");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload length in bytes.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert_eq!(Message::text("é").len(), 2);
    /// assert!(Message::binary(Vec::new()).is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The kind of this message.
    ///
    /// ```
    /// use rfc6455::{Message, MessageKind};
    /// assert_eq!(Message::from(&b"\x01"[..]).kind(), MessageKind::Binary);
    /// ```
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The text, if this is a text message.
    ///
    /// ```
    /// use rfc6455::Message;
    /// match Message::text("{\"op\":\"join\"}").as_text() {
    ///     Some(json) => assert!(json.starts_with('{')),
    ///     None => unreachable!("a text message"),
    /// }
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// The text, if this is a text message, without copying it.
    ///
    /// ```
    /// use rfc6455::Message;
    /// let text = Message::from(String::from("kept")).into_text().expect("text");
    /// assert_eq!(text.as_str(), "kept");
    /// ```
    pub fn into_text(self) -> Option<Utf8Bytes> {
        match self {
            Message::Text(t) => Some(t),
            Message::Binary(_) => None,
        }
    }

    /// The payload bytes, whatever the kind, without copying them.
    ///
    /// ```
    /// use rfc6455::Message;
    /// let data = Message::text("raw").into_data(); // no copy
    /// assert_eq!(&data[..], b"raw");
    /// ```
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b,
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::text(s)
    }
}

impl From<alloc::string::String> for Message {
    fn from(s: alloc::string::String) -> Self {
        Message::text(s)
    }
}

impl From<Utf8Bytes> for Message {
    fn from(s: Utf8Bytes) -> Self {
        Message::Text(s)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(b: alloc::vec::Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(b))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// A whole message lent rather than owned: what
/// `tokio::WebSocket::read_with` (feature `tokio`) hands its closure. The
/// bytes stay where they were read; copy what must outlive the loan
/// ([`to_message`](Self::to_message)).
///
/// ```
/// use rfc6455::{Message, MessageRef};
/// let lent = MessageRef::Text("hi");
/// assert_eq!(lent.as_bytes(), b"hi");
/// assert_eq!(lent.to_message(), Message::text("hi"));
/// assert_eq!(MessageRef::from(&Message::binary(vec![1u8])), MessageRef::Binary(&[1]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message (opcode 0x1), validated UTF-8.
    Text(&'a str),
    /// A binary message (opcode 0x2).
    Binary(&'a [u8]),
}

impl<'a> MessageRef<'a> {
    /// The payload bytes, whatever the kind.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            MessageRef::Text(text) => text.as_bytes(),
            MessageRef::Binary(bytes) => bytes,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&'a str> {
        match *self {
            MessageRef::Text(text) => Some(text),
            MessageRef::Binary(_) => None,
        }
    }

    /// The kind of this message.
    pub fn kind(&self) -> MessageKind {
        match self {
            MessageRef::Text(_) => MessageKind::Text,
            MessageRef::Binary(_) => MessageKind::Binary,
        }
    }

    /// An owned copy.
    pub fn to_message(&self) -> Message {
        match *self {
            MessageRef::Text(text) => Message::text(text),
            MessageRef::Binary(bytes) => Message::binary(Bytes::copy_from_slice(bytes)),
        }
    }
}

impl<'a> From<&'a Message> for MessageRef<'a> {
    fn from(message: &'a Message) -> Self {
        match message {
            Message::Text(text) => MessageRef::Text(text.as_str()),
            Message::Binary(bytes) => MessageRef::Binary(bytes),
        }
    }
}

impl<'a> From<&'a str> for MessageRef<'a> {
    fn from(text: &'a str) -> Self {
        MessageRef::Text(text)
    }
}

impl<'a> From<&'a [u8]> for MessageRef<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        MessageRef::Binary(bytes)
    }
}

/// Text or binary: the kind of a data message or fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}
