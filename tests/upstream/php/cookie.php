<?php
// Two cookies: two Set-Cookie fields, never joined into one.
setcookie('flavour', 'oatmeal', ['path' => '/', 'httponly' => true]);
setcookie('size', 'large');
echo "cookies set\n";
