using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Serverless.Functions.Tests.Support;

public sealed record TestResponse(int Status, IHeaderDictionary Headers, string? ContentType, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    public override string ToString() => $"{Status} {ContentType} {Body}";
}
