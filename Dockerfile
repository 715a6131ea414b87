# The relay's image: published with the .NET SDK, run on the ASP.NET Core runtime (Kestrel serves its probes) as a non-root user.
#   docker build -t atlas-cdc .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY .editorconfig Directory.Build.props Directory.Packages.props ./
COPY src/Atlas.Cdc/Atlas.Cdc.csproj src/Atlas.Cdc/
COPY src/Atlas.Cdc.Outbox/Atlas.Cdc.Outbox.csproj src/Atlas.Cdc.Outbox/
RUN dotnet restore src/Atlas.Cdc/Atlas.Cdc.csproj --runtime linux-x64
COPY src/Atlas.Cdc/ src/Atlas.Cdc/
COPY src/Atlas.Cdc.Outbox/ src/Atlas.Cdc.Outbox/
# Publishing for a runtime precompiles the relay (ReadyToRun): no JIT at start-up (docs/benchmarks.md).
RUN dotnet publish src/Atlas.Cdc/Atlas.Cdc.csproj --configuration Release --runtime linux-x64 --self-contained false --no-restore --output /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# No OS librdkafka: the relay loads the one in its NuGet package (librdkafka.redist, under runtimes/).
WORKDIR /app
COPY --from=build /app ./
# The relay listens where Cdc__Http__Url says.
# Memory settings (docs/operations.md, *Memory*): a 4 MiB gen0 budget instead of the cache-sized default, and glibc's malloc
# settings for librdkafka's copies. They are deployment settings: the relay does not set them itself.
ENV Cdc__Http__Url="http://0.0.0.0:8080" \
    DOTNET_GCgen0size=0x400000 \
    MALLOC_MMAP_THRESHOLD_=4194304 \
    MALLOC_TRIM_THRESHOLD_=262144 \
    MALLOC_ARENA_MAX=2
EXPOSE 8080
# The non-root user the .NET images provide.
USER $APP_UID
ENTRYPOINT ["dotnet", "Atlas.Cdc.dll"]
