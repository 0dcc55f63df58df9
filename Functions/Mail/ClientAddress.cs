using System.Net;
using Microsoft.AspNetCore.Http;

namespace Serverless.Functions.Mail;

/// <summary>
/// The caller's address for per-client limits: the last X-Forwarded-For entry (the one Azure's front end appends; earlier
/// entries are the client's own claims), else the connection's address.
/// </summary>
public static class ClientAddress
{
    public static string Of(HttpContext httpContext)
    {
        var forwarded = httpContext.Request.Headers["X-Forwarded-For"].ToString();
        var last = forwarded.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (last is not null && IPEndPoint.TryParse(last, out var endPoint))
        {
            return endPoint.Address.ToString();
        }

        return httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }
}
