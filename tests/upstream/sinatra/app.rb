# A Sinatra application behind puma, for `wired --proxy` (see config.ru).
require 'sinatra/base'

class App < Sinatra::Base
  # Quiet and plain: no HTML error pages, no host authorization in the way.
  set :show_exceptions, false
  set :raise_errors, false
  set :logging, false

  get '/' do
    content_type 'text/plain'
    "hello from sinatra\n"
  end

  # The request body as the application read it, with its length.
  post '/echo' do
    body = request.body.read
    content_type 'application/octet-stream'
    headers 'X-Echo-Length' => body.bytesize.to_s
    body
  end

  # The request head as Rack saw it: one "name: value" line per HTTP_*
  # variable (HTTP_VERSION is Rack's, not a field), names lowercased, sorted.
  get '/headers' do
    content_type 'text/plain'
    fields = request.env.select { |k, _| k.start_with?('HTTP_') && k != 'HTTP_VERSION' }
    lines = fields.map { |k, v| "#{k.delete_prefix('HTTP_').downcase.tr('_', '-')}: #{v}" }
    (["#{request.request_method} #{request.fullpath}"] + lines.sort).join("\n") + "\n"
  end
end
