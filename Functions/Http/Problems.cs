using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Serverless.Functions.Http;

/// <summary>RFC 9457 problem details, the body of every 4xx and 5xx answer.</summary>
public sealed record ProblemBody(
    string Type,
    string Title,
    int Status,
    string? Detail,
    string? TraceId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Checks = null);

public static class Problems
{
    public const string ContentType = "application/problem+json; charset=utf-8";
    public const string TypeBaseUri = "https://serverless.example/errors/";

    public static ApiResult Create(HttpContext httpContext, int status, string code, string title, string? detail = null,
        IReadOnlyDictionary<string, string[]>? errors = null, IReadOnlyDictionary<string, string>? checks = null)
    {
        var body = new ProblemBody(TypeBaseUri + code, title, status, detail, TraceIdOf(httpContext), errors, checks);
        return ApiResult.Json(status, body, ApiJson.Default.ProblemBody, ContentType);
    }

    public static ApiResult Validation(HttpContext httpContext, IReadOnlyDictionary<string, string[]> errors) =>
        Create(httpContext, StatusCodes.Status400BadRequest, "validation", "The request is not valid.",
            "See errors for the fields to correct.", errors);

    public static ApiResult BadRequest(HttpContext httpContext, string detail) =>
        Create(httpContext, StatusCodes.Status400BadRequest, "bad-request", "The request is not valid.", detail);

    public static ApiResult NotFound(HttpContext httpContext, string detail = "The resource does not exist.") =>
        Create(httpContext, StatusCodes.Status404NotFound, "not-found", "Not found.", detail);

    public static ApiResult ServiceUnavailable(HttpContext httpContext, IReadOnlyDictionary<string, string>? checks = null) =>
        Create(httpContext, StatusCodes.Status503ServiceUnavailable, "unavailable", "The service is temporarily unavailable.",
                "Storage could not be reached. Try again shortly.", checks: checks)
            .WithHeader("Retry-After", RetryAfterSeconds.ToString(CultureInfo.InvariantCulture));

    public const int RetryAfterSeconds = 5;

    private static string TraceIdOf(HttpContext httpContext) =>
        Activity.Current is { } activity ? activity.TraceId.ToHexString() : httpContext.TraceIdentifier;
}
