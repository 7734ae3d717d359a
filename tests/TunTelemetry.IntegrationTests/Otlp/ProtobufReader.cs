namespace TunTelemetry.IntegrationTests.Otlp;

/// <summary>The protobuf wire format, enough to walk OTLP messages: tags, varints, fixed widths, length-delimited.</summary>
public ref struct ProtobufReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _data = data;

    public int Field { get; private set; }

    public int WireType { get; private set; }

    public bool Next()
    {
        if (_data.IsEmpty)
        {
            return false;
        }

        ulong tag = Varint();
        Field = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        return true;
    }

    public ulong Varint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_data.IsEmpty)
            {
                throw new OtlpDecodeException("varint runs past the end");
            }

            byte b = _data[0];
            _data = _data[1..];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new OtlpDecodeException("varint longer than 10 bytes");
    }

    public ulong Fixed64() => BitConverter.ToUInt64(Take(8));

    public double Double() => BitConverter.ToDouble(Take(8));

    public ReadOnlySpan<byte> Bytes() => Take(checked((int)Varint()));

    public string String() => System.Text.Encoding.UTF8.GetString(Bytes());

    public void Skip()
    {
        switch (WireType)
        {
            case 0: Varint(); break;
            case 1: Take(8); break;
            case 2: Bytes(); break;
            case 5: Take(4); break;
            default: throw new OtlpDecodeException($"unsupported wire type {WireType}");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _data.Length)
        {
            throw new OtlpDecodeException($"field needs {count} bytes, {_data.Length} left");
        }

        ReadOnlySpan<byte> taken = _data[..count];
        _data = _data[count..];
        return taken;
    }
}

public sealed class OtlpDecodeException(string message) : Exception(message);
