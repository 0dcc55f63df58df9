using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions;
using Serverless.Functions.Http;

var builder = FunctionsApplication.CreateBuilder(args);

// HTTP model: ASP.NET Core integration, so functions take HttpRequest and return IActionResult.
builder.ConfigureFunctionsWebApplication();

// Cross-cutting, once for every HTTP function: the exception boundary, then bearer authentication
// (every function needs a signed-in caller unless it says [AllowAnonymous]).
builder.UseWhen<ExceptionBoundaryMiddleware>(context => context.GetHttpContext() is not null);
builder.UseWhen<AuthenticationMiddleware>(context => context.GetHttpContext() is not null);

// Storage, services and settings; a missing or invalid setting stops start-up here, naming the setting.
builder.Services.AddServerlessApp(builder.Configuration);

builder.Build().Run();
