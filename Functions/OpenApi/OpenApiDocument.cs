using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Serverless.Functions.OpenApi;

/// <summary>
/// The OpenAPI document of docs/api.md (<c>Functions/openapi.json</c>), embedded in the assembly and read once;
/// its ETag is a hash of its bytes, so it changes exactly when the document does.
/// </summary>
public sealed class OpenApiDocument
{
    public const string ResourceName = "openapi.json";

    public OpenApiDocument()
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The resource {ResourceName} is not embedded in the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        Content = copy.ToArray();
        ETag = new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(Content.Span))[..32] + "\"");
    }

    public ReadOnlyMemory<byte> Content { get; }

    public EntityTagHeaderValue ETag { get; }

    /// <summary>True when an <c>If-None-Match</c> list names this version (weak comparison, as RFC 9110 asks) or is <c>*</c>.</summary>
    public bool IsNamedBy(IList<EntityTagHeaderValue> ifNoneMatch) =>
        ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(ETag, useStrongComparison: false));
}
