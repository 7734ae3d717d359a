using System.Buffers.Binary;
using System.Text;

namespace TunTelemetry.OtlpReceiver;

/// <summary>Protobuf wire types (the low three bits of a field tag).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// Minimal forward-only protobuf wire-format reader over a span. Every read is bounds-checked and
/// every malformation (truncation, over-long varint, bad wire type, field number 0, unbalanced
/// groups, invalid UTF-8) surfaces as an <see cref="OtlpDecodeException"/>.
/// </summary>
internal ref struct ProtoReader
{
    private const int MaxGroupDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly string _context;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> buffer, string context)
    {
        _buffer = buffer;
        _context = context;
        _position = 0;
    }

    public readonly int Position => _position;

    /// <summary>Reads the next tag; returns false at the (clean) end of the buffer.</summary>
    public bool TryReadTag(out int fieldNumber, out WireType wireType)
    {
        if (_position >= _buffer.Length)
        {
            fieldNumber = 0;
            wireType = default;
            return false;
        }

        int tagStart = _position;
        ulong tag = ReadVarint();
        if (tag > uint.MaxValue)
        {
            throw Error($"tag varint out of range at offset {tagStart}");
        }

        fieldNumber = (int)(tag >> 3);
        int rawWireType = (int)(tag & 7);
        if (fieldNumber == 0)
        {
            throw Error($"field number 0 at offset {tagStart}");
        }

        if (rawWireType > 5)
        {
            throw Error($"invalid wire type {rawWireType} for field {fieldNumber} at offset {tagStart}");
        }

        wireType = (WireType)rawWireType;
        return true;
    }

    public ulong ReadVarint()
    {
        int start = _position;
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                throw Error($"truncated varint at offset {start}");
            }

            byte b = _buffer[_position++];
            if (shift == 63 && b > 1)
            {
                throw Error($"varint overflows 64 bits at offset {start}");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Error($"varint longer than 10 bytes at offset {start}");
    }

    public bool ReadBool() => ReadVarint() != 0;

    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public long ReadSFixed64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        int start = _position;
        ulong length = ReadVarint();
        if (length > (ulong)(_buffer.Length - _position))
        {
            throw Error($"length-delimited field at offset {start} declares {length} bytes but only {_buffer.Length - _position} remain");
        }

        return Take((int)length);
    }

    public string ReadString()
    {
        ReadOnlySpan<byte> bytes = ReadLengthDelimited();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new OtlpDecodeException($"{_context}: string field is not valid UTF-8", ex);
        }
    }

    /// <summary>Skips the payload of a field whose tag has just been read.</summary>
    public void SkipField(int fieldNumber, WireType wireType) => SkipField(fieldNumber, wireType, 0);

    private void SkipField(int fieldNumber, WireType wireType, int depth)
    {
        switch (wireType)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                Take(8);
                break;
            case WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case WireType.Fixed32:
                Take(4);
                break;
            case WireType.StartGroup:
                if (depth >= MaxGroupDepth)
                {
                    throw Error("groups nested too deeply");
                }

                while (true)
                {
                    if (!TryReadTag(out int innerField, out WireType innerType))
                    {
                        throw Error($"unterminated group for field {fieldNumber}");
                    }

                    if (innerType == WireType.EndGroup)
                    {
                        if (innerField != fieldNumber)
                        {
                            throw Error($"end-group for field {innerField} does not match start-group for field {fieldNumber}");
                        }

                        return;
                    }

                    SkipField(innerField, innerType, depth + 1);
                }

            case WireType.EndGroup:
                throw Error($"unexpected end-group for field {fieldNumber}");
            default:
                throw Error($"invalid wire type {(int)wireType}");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _buffer.Length - _position)
        {
            throw Error($"truncated: need {count} bytes at offset {_position}, only {_buffer.Length - _position} remain");
        }

        ReadOnlySpan<byte> slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }

    private readonly OtlpDecodeException Error(string message) => new($"{_context}: {message}");
}
