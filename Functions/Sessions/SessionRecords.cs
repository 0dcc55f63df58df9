namespace Serverless.Functions.Sessions;

/// <summary>One signed-in session as its owner sees it in <c>GET /api/me/sessions</c>.</summary>
public sealed record SessionView(string Id, DateTime CreatedAt, DateTime LastUsedAt, DateTime ExpiresAt, string? Client, bool Current);

public sealed record SessionList(IReadOnlyList<SessionView> Sessions);
