# Build: docker build -t gatehouse .
# Run:   docker run -p 8080:8080 -e GATEHOUSE_HTTP_ADDR=0.0.0.0:8080 -v gatehouse-data:/data gatehouse
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/gatehouse-id/gatehouse/internal/version.Version=${VERSION}" \
    -o /out/gatehouse ./cmd/gatehouse

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
ENV GATEHOUSE_DATA_DIR=/data \
    GATEHOUSE_DATABASE_URL=sqlite:///data/gatehouse.db
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
