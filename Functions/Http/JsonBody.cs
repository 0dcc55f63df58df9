using System.Buffers;
using System.Text;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Functions.Http;

/// <summary>A parsed request body, or the problem answer that explains why there is none.</summary>
public readonly record struct Body<T>(T? Value, ApiResult? Problem) where T : class;

/// <summary>Reads JSON request bodies: 415 for other media types, 413 past 64 KiB (refused before parsing), 400 for bad JSON.</summary>
public static class JsonBody
{
    public const int MaxBytes = 64 * 1024;

    public static async Task<Body<T>> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class
    {
        var http = request.HttpContext;
        if (!IsJson(request.ContentType))
        {
            return Fail<T>(Problems.Create(http, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type",
                "The body must be JSON.", "Send the body as application/json; charset=utf-8."));
        }

        if (request.ContentLength > MaxBytes)
        {
            return Fail<T>(TooLarge(http));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 1);
        try
        {
            var length = await ReadUpToAsync(request.Body, buffer, MaxBytes + 1, cancellationToken);
            if (length > MaxBytes)
            {
                return Fail<T>(TooLarge(http));
            }

            if (length == 0)
            {
                return Fail<T>(Problems.BadRequest(http, "A JSON body is required."));
            }

            var value = JsonSerializer.Deserialize(buffer.AsSpan(0, length), typeInfo);
            return value is null
                ? Fail<T>(Problems.BadRequest(http, "The body must be a JSON object."))
                : new Body<T>(value, null);
        }
        catch (JsonException exception)
        {
            return Fail<T>(Malformed(http, exception));
        }
        catch (InvalidOperationException exception) when (exception.InnerException is null or DecoderFallbackException)
        {
            // System.Text.Json reports invalid UTF-8 and unpaired surrogates this way.
            return Fail<T>(Problems.BadRequest(http, "The body is not valid UTF-8 JSON text."));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ApiResult Malformed(HttpContext http, JsonException exception)
    {
        var field = FieldOf(exception.Path);
        if (field is null)
        {
            return Problems.BadRequest(http, "The body is not well-formed JSON, or is not a JSON object.");
        }

        return Problems.Validation(http, new Dictionary<string, string[]>
        {
            [field] = ["Has the wrong type or is not well-formed."],
        });
    }

    // "$.title" -> "title"; the root or an array position is reported without a field.
    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return null;
        }

        var field = path[2..];
        var end = field.IndexOfAny(['.', '[']);
        return end < 0 ? field : field[..end];
    }

    private static ApiResult TooLarge(HttpContext http) =>
        Problems.Create(http, StatusCodes.Status413PayloadTooLarge, "payload-too-large", "The body is too large.",
            $"Bodies are limited to {MaxBytes / 1024} KiB.");

    private static Body<T> Fail<T>(ApiResult problem) where T : class => new(null, problem);

    private static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || mediaType.MediaType is null)
        {
            return false;
        }

        var charsetOk = mediaType.CharSet is null || string.Equals(mediaType.CharSet.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase);
        return charsetOk && (string.Equals(mediaType.MediaType, "application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task<int> ReadUpToAsync(Stream body, byte[] buffer, int limit, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < limit)
        {
            var read = await body.ReadAsync(buffer.AsMemory(total, limit - total), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
