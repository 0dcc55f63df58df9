using System.Buffers.Binary;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Serverless.Functions.Tests.Passkeys;

/// <summary>
/// A WebAuthn authenticator in software, for tests: one ECDSA P-256 credential (ES256), attestation format "none", a
/// signature counter, and answers shaped like the browser's <c>PublicKeyCredential.toJSON()</c>. Every check the server
/// makes can be defeated on purpose (origin, relying-party id, flags, counter, challenge, user handle).
/// </summary>
public sealed class SoftwareAuthenticator : IDisposable
{
    public const byte UserPresent = 0x01;
    public const byte UserVerified = 0x04;
    private const byte AttestedCredentialData = 0x40;

    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public SoftwareAuthenticator(byte[]? credentialId = null)
    {
        CredentialId = credentialId ?? RandomNumberGenerator.GetBytes(32);
    }

    public byte[] CredentialId { get; }

    /// <summary>The user handle the relying party gave at registration (the authenticator returns it at every sign-in).</summary>
    public byte[]? UserHandle { get; set; }

    public uint Counter { get; set; }

    /// <summary>How much the counter grows per use; 0 for authenticators without a counter (as most passkeys).</summary>
    public uint CounterStep { get; set; } = 1;

    /// <summary>The id the server gives a credential: SHA-256 of its id, base64url.</summary>
    public string PasskeyId => Base64Url(SHA256.HashData(CredentialId));

    /// <summary>navigator.credentials.create(): an attestation for the creation options the server sent.</summary>
    public object Create(JsonElement options, string origin, string? rpId = null, byte flags = UserPresent | UserVerified, string? challenge = null)
    {
        rpId ??= options.GetProperty("rp").GetProperty("id").GetString()!;
        UserHandle = FromBase64Url(options.GetProperty("user").GetProperty("id").GetString()!);
        var clientData = ClientData("webauthn.create", challenge ?? options.GetProperty("challenge").GetString()!, origin);
        var authData = AuthenticatorData(rpId, (byte)(flags | AttestedCredentialData), Counter, AttestedData());

        var cbor = new CborWriter();
        cbor.WriteStartMap(3);
        cbor.WriteTextString("fmt");
        cbor.WriteTextString("none");
        cbor.WriteTextString("attStmt");
        cbor.WriteStartMap(0);
        cbor.WriteEndMap();
        cbor.WriteTextString("authData");
        cbor.WriteByteString(authData);
        cbor.WriteEndMap();

        return new
        {
            id = Base64Url(CredentialId),
            rawId = Base64Url(CredentialId),
            type = "public-key",
            // As Chrome's toJSON() gives it: the convenience fields beside the attestation object too.
            response = new
            {
                clientDataJSON = Base64Url(clientData),
                attestationObject = Base64Url(cbor.Encode()),
                authenticatorData = Base64Url(authData),
                publicKey = Base64Url(key.ExportSubjectPublicKeyInfo()),
                publicKeyAlgorithm = -7,
                transports = new[] { "internal", "hybrid" },
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { credProps = new { rk = true } },
        };
    }

    /// <summary>navigator.credentials.get(): an assertion for the request options the server sent.</summary>
    public object Get(JsonElement options, string origin, string? rpId = null, byte flags = UserPresent | UserVerified, byte[]? userHandle = null,
        string? challenge = null)
    {
        rpId ??= options.GetProperty("rpId").GetString()!;
        Counter += CounterStep;
        return Assertion(challenge ?? options.GetProperty("challenge").GetString()!, origin, rpId, flags, userHandle ?? UserHandle!, Counter);
    }

    /// <summary>An assertion with exactly the counter given (a clone's, say), the authenticator's own counter untouched.</summary>
    public object Assertion(string challenge, string origin, string rpId, byte flags, byte[] userHandle, uint counter)
    {
        var clientData = ClientData("webauthn.get", challenge, origin);
        var authData = AuthenticatorData(rpId, flags, counter, []);
        var signature = key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new
        {
            id = Base64Url(CredentialId),
            rawId = Base64Url(CredentialId),
            type = "public-key",
            response = new
            {
                clientDataJSON = Base64Url(clientData),
                authenticatorData = Base64Url(authData),
                signature = Base64Url(signature),
                userHandle = Base64Url(userHandle),
            },
            authenticatorAttachment = "platform",
            clientExtensionResults = new { },
        };
    }

    public void Dispose() => key.Dispose();

    public static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static byte[] FromBase64Url(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);

    private static byte[] ClientData(string type, string challenge, string origin) =>
        JsonSerializer.SerializeToUtf8Bytes(new { type, challenge, origin, crossOrigin = false });

    private static byte[] AuthenticatorData(string rpId, byte flags, uint counter, byte[] attested)
    {
        var data = new byte[32 + 1 + 4 + attested.Length];
        SHA256.HashData(Encoding.UTF8.GetBytes(rpId), data.AsSpan(0, 32));
        data[32] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(33, 4), counter);
        attested.CopyTo(data, 37);
        return data;
    }

    // AAGUID (zero for "none"), the credential id with its length, and the public key as a COSE_Key (EC2, ES256, P-256).
    private byte[] AttestedData()
    {
        var point = key.ExportParameters(includePrivateParameters: false).Q;
        var cose = new CborWriter(CborConformanceMode.Ctap2Canonical);
        cose.WriteStartMap(5);
        cose.WriteInt32(1);
        cose.WriteInt32(2);
        cose.WriteInt32(3);
        cose.WriteInt32(-7);
        cose.WriteInt32(-1);
        cose.WriteInt32(1);
        cose.WriteInt32(-2);
        cose.WriteByteString(point.X!);
        cose.WriteInt32(-3);
        cose.WriteByteString(point.Y!);
        cose.WriteEndMap();

        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)CredentialId.Length);
        return [.. new byte[16], .. length, .. CredentialId, .. cose.Encode()];
    }
}
